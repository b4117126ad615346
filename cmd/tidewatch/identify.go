package main

import (
	"fmt"
	"strings"

	"github.com/tidewatch/tidewatch/identity"
)

func runIdentify(e *env, args []string) error {
	fs := newFlagSet(e, "identify", "tidewatch identify VALUE...", `
Explains ship and company identifiers:
  seven digits (or "IMO 8606173")  checked as an IMO ship number and as an
                                   IMO company number (they differ)
  nine digits                      an MMSI: station kind, MID and the flag
                                   the MID implies
  letters and digits               a call sign: the country of its ITU series

Examples:
  tidewatch identify 8606173 5936312 445123000 HMYX`)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("give one or more values to identify")
	}
	for _, v := range pos {
		fmt.Fprintln(e.stdout, describe(v))
	}
	return nil
}

func describe(v string) string {
	t := strings.TrimSpace(v)
	digits := strings.TrimLeft(strings.TrimPrefix(strings.ToUpper(t), "IMO"), " :")
	switch {
	case len(digits) == 7 && strings.Trim(digits, "0123456789") == "":
		n := 0
		fmt.Sscan(digits, &n)
		ship, comp := identity.ValidShipIMO(n), identity.ValidCompanyIMO(n)
		var what string
		switch {
		case ship && comp:
			what = "valid as both an IMO ship number and an IMO company number; context decides"
		case ship:
			what = "IMO ship number (check digit valid); not a valid company number"
		case comp:
			what = "IMO company / registered-owner number (check digit valid); not a valid ship number"
		default:
			what = "neither a valid IMO ship number nor a valid company number (check digit fails)"
		}
		return fmt.Sprintf("%s: %s", t, what)
	case len(t) == 9 && strings.Trim(t, "0123456789") == "":
		m, _ := identity.ParseMMSI(t)
		k := m.Kind()
		if k == identity.StationInvalid {
			return fmt.Sprintf("%s: MMSI with a structure ITU-R M.585 does not define", t)
		}
		if mid := m.MID(); mid != 0 {
			flag, ok := m.Flag()
			if !ok {
				return fmt.Sprintf("%s: MMSI, %s, MID %d is allocated to no administration", t, k, mid)
			}
			return fmt.Sprintf("%s: MMSI, %s, MID %d -> %s (%s)", t, k, mid, flag.Name(), flag)
		}
		return fmt.Sprintf("%s: MMSI, %s (no MID)", t, k)
	default:
		c, ok := identity.CallSignCountry(t)
		if !ok {
			return fmt.Sprintf("%s: not an IMO number or MMSI, and no call-sign series Tidewatch knows", t)
		}
		note := ""
		if c == "KP" {
			note = " - a DPRK call sign"
		}
		return fmt.Sprintf("%s: call sign in the ITU series of %s (%s)%s", t, c.Name(), c, note)
	}
}
