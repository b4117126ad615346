// Command tidewatch finds ships and companies that help North Korea evade
// UN sanctions, and gives insurers and other services the evidence to stop
// serving them. This package is flags, output formatting and wiring: the
// use cases live in internal/app, which the HTTP server (tidewatch serve)
// shares. This file holds the command table; each subcommand's flags and
// wiring live in a file of its own.
//
// The CLI uses the standard flag package: the commands are few, their
// flags are simple, and a dependency for help text is not worth its weight.
// Flags may come before or after the arguments and are written --name in
// help, errors and docs (a single dash works too).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"

	"github.com/tidewatch/tidewatch/internal/app"
)

// command is one subcommand. run gets the arguments after the command's
// name and returns an error to print; a usage error is a *usageError.
type command struct {
	name, summary string
	run           func(env *env, args []string) error
}

// env carries the process's streams so commands can be tested in process.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

func commands() []command {
	return []command{
		{"demo", "show what Tidewatch does, on the embedded list snapshot (no network needed)", runDemo},
		{"serve", "run the HTTP API (and the web interface) for many users, tenants and keys", runServe},
		{"init", "create a store (commands that write refuse a --store path that does not exist)", runInit},
		{"screen", "screen a vessel, company or person (or a CSV portfolio) against the sanctions lists", runScreen},
		{"lists", "read, import, update, version and diff sanctions lists (run 'tidewatch lists' for its commands)", runLists},
		{"ais", "decode AIS (NMEA logs, CSV exports, live TCP/UDP feeds) and count what it holds", runAIS},
		{"ingest", "load AIS into the store through the detectors (resumable)", runIngest},
		{"worker", "AIS pipeline worker: ingest a partition of the NATS JetStream stream into the store", runWorker},
		{"publish", "publish raw AIS files to the AIS pipeline's NATS JetStream stream", runPublish},
		{"store", "show what a store holds: list versions, ingest runs, rows", runStore},
		{"vessel", "a vessel's point-in-time risk profile and underwriter's report (HTML)", runVessel},
		{"decide", "record (or approve) an underwriting decision about a vessel, with its reason", runDecide},
		{"events", "query stored events by vessel, kind, area and time", runEvents},
		{"portfolio", "portfolios of ships and their parties, watched for list changes and events; the fleet table", runPortfolio},
		{"alerts", "the alerts inbox: what changed on portfolio vessels; acknowledge, close", runAlerts},
		{"audit", "verify, show or prune the tamper-evident audit log", runAudit},
		{"detect", "find gaps, ship-to-ship encounters, loitering, port calls and zone entries in AIS", runDetect},
		{"simulate", "write simulated AIS with planted DPRK evasion behaviour and its ground truth", runSimulate},
		{"identify", "explain an IMO number, MMSI or call sign: check digits, station kind, flag", runIdentify},
		{"keys", "create, list and revoke API keys (and tenants) for 'tidewatch serve'; signing keys for case files", runKeys},
		{"case", "signed, replayable case files: export, verify, replay, sign, import", runCase},
		{"ledger", "the refined-petroleum cap ledger: notified deliveries, estimates from DPRK port calls, share of the cap", runLedger},
		{"version", "print the program version", runVersion},
	}
}

const intro = `Tidewatch screens ships and the companies behind them against the UN, US, UK
and EU sanctions lists, with the DPRK's evasion tactics in mind: IMO numbers
first, company IMO numbers kept apart, flag hopping and former names.

Usage:
  tidewatch COMMAND [flags] [arguments]

Commands:
`

func usage(w io.Writer) {
	fmt.Fprint(w, intro)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run 'tidewatch COMMAND --help' for a command's flags. The store (lists,
AIS, events, decisions, the audit log) is $TIDEWATCH_DATA/tidewatch.db
(default ~/.local/share/tidewatch/tidewatch.db) unless --store says otherwise.
`)
}

func main() {
	os.Exit(profiled(func() int {
		return run(&env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin}, os.Args[1:])
	}))
}

// profiled runs f, writing a CPU profile to $TIDEWATCH_CPUPROFILE when it
// is set: the speed work on detection needs profiles of the real binary on
// real files, and an environment variable keeps it out of every command's
// flags.
func profiled(f func() int) int {
	path := os.Getenv("TIDEWATCH_CPUPROFILE")
	if path == "" {
		return f()
	}
	out, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "tidewatch: cpu profile: %v\n", err)
		return f()
	}
	defer out.Close()
	if err := pprof.StartCPUProfile(out); err != nil {
		fmt.Fprintf(os.Stderr, "tidewatch: cpu profile: %v\n", err)
		return f()
	}
	defer pprof.StopCPUProfile()
	return f()
}

// run executes a command line and returns the exit status: 0 success,
// 1 failure, 2 usage error.
func run(e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = []string{"version"}
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(e, args[1:])
		var ue *usageError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(e.stderr, "tidewatch %s: %s\n", c.name, ue.msg)
			return 2
		default:
			fmt.Fprintf(e.stderr, "tidewatch %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(e.stderr, "tidewatch: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return 2
}

// parseFlags parses flags that may be mixed with positional arguments, as
// users type them ("lists show DIR --json"). An unknown or malformed flag
// is a one-line usage error pointing at --help; --help prints the
// command's usage.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	defer func() { fs.Usage = usage; fs.SetOutput(out) }()
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				usage()
				return nil, err
			}
			msg := strings.Replace(err.Error(), "flag provided but not defined: -", "unknown flag --", 1)
			msg = strings.Replace(msg, "flag needs an argument: -", "flag needs a value: --", 1)
			msg = strings.Replace(msg, " for flag -", " for --", 1)
			return nil, &usageError{fmt.Sprintf("%s (see 'tidewatch %s --help')", msg, fs.Name())}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// parseArgs is parseFlags for a command that takes n arguments besides
// its flags: any other number is a usage error saying need.
func parseArgs(fs *flag.FlagSet, args []string, n int, need string) ([]string, error) {
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != n {
		return nil, usagef("%s", need)
	}
	return pos, nil
}

// newFlagSet makes a flag set whose -h output starts with the command's
// usage line and description.
func newFlagSet(e *env, name, usageLine, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: %s\n\n%s\n", usageLine, strings.TrimSpace(description))
		printFlags(e.stderr, fs)
	}
	return fs
}

// printFlags lists a command's flags as --name VALUE, with their help and
// default, the one style used in usage lines, errors and docs.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprintln(w, "\nFlags:")
			first = false
		}
		name, help := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if len(f.Name) == 1 {
			line = "  -" + f.Name
		}
		if name != "" {
			line += " " + name
		}
		if len(line) <= 24 {
			line += strings.Repeat(" ", 25-len(line)) + help
		} else {
			line += "\n" + strings.Repeat(" ", 25) + help
		}
		// A help text that states its default itself is not given a
		// second one.
		if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "0s" && !strings.Contains(help, "(default ") {
			line += " (default " + d + ")"
		}
		fmt.Fprintln(w, line)
	})
}

func runVersion(e *env, args []string) error {
	fs := newFlagSet(e, "version", "tidewatch version", `
Prints the program's version and the Go release it was built with (also
'tidewatch --version').`)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("version takes no arguments")
	}
	fmt.Fprintf(e.stdout, "tidewatch %s (%s)\n", app.BuildVersion(), runtime.Version())
	return nil
}

// defaultDataDir is $TIDEWATCH_DATA, else ~/.local/share/tidewatch
// ($XDG_DATA_HOME respected).
func defaultDataDir() string {
	if d := os.Getenv("TIDEWATCH_DATA"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return d + "/tidewatch"
	}
	if h, err := os.UserHomeDir(); err == nil {
		return h + "/.local/share/tidewatch"
	}
	return ".tidewatch"
}

// group is a command with subcommands ("lists", "ais").
type group struct {
	name     string
	intro    string // printed before the command list
	outro    string // printed after it (default: how to get a command's flags)
	commands []command
}

// run dispatches to a subcommand, printing the group's help for -h or no
// arguments, and prefixes errors with the subcommand's name.
func (g group) run(e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(e.stdout, g.intro)
		for _, c := range g.commands {
			fmt.Fprintf(e.stdout, "  %-9s %s\n", c.name, c.summary)
		}
		outro := g.outro
		if outro == "" {
			outro = "\nRun 'tidewatch " + g.name + " COMMAND --help' for its flags.\n"
		}
		fmt.Fprint(e.stdout, outro)
		if len(args) == 0 {
			return usagef("give a command after %q", g.name)
		}
		return nil
	}
	var names []string
	for _, c := range g.commands {
		names = append(names, c.name)
		if c.name != args[0] {
			continue
		}
		err := c.run(e, args[1:])
		var ue *usageError
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return err
		case errors.As(err, &ue):
			return usagef("%s: %s", c.name, ue.msg)
		}
		if strings.HasPrefix(err.Error(), c.name+": ") {
			return err // it names the subcommand already ("diff: ...")
		}
		return fmt.Errorf("%s: %w", c.name, err)
	}
	return usagef("unknown %s command %q (%s)", g.name, args[0], strings.Join(names, ", "))
}
