package geo

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

//go:embed data/nga_wpi_UpdatedPub150.csv.gz
var wpiCSV []byte

//go:embed data/gfw_anchorage_overrides.csv.gz
var gfwAnchorageCSV []byte

// Port is a port or anchorage point.
type Port struct {
	Name    string
	Country string // as the source writes it: "North Korea" (WPI) or ISO alpha-3 "PRK" (GFW)
	LOCODE  string
	Lat     float64
	Lon     float64
	// DPRK is true for ports of the Democratic People's Republic of Korea.
	DPRK bool
	// Source is "wpi" or "gfw-anchorage".
	Source string
}

// Ports finds the ports and anchorages near a point. Build it once
// (LoadPorts) and share it.
type Ports struct {
	all  []Port
	grid map[int64][]int32 // portCellDeg cells -> ports
}

// portCellDeg is the port grid's cell: small, because the anchorage points
// are dense (tens per quarter degree along busy coasts) and most lookups
// ask for a few kilometres.
const portCellDeg = 0.05

func portCell(lat, lon float64) (int64, int64) {
	return int64(math.Floor((lon + 180) / portCellDeg)), int64(math.Floor((lat + 90) / portCellDeg))
}

const portGridW = int64(360 / portCellDeg)

var (
	portsOnce sync.Once
	portsVal  *Ports
	portsErr  error
)

// LoadPorts reads the embedded World Port Index (3,768 ports, the ten
// DPRK ports among them) and GFW anchorage points (60,410) once.
func LoadPorts() (*Ports, error) {
	portsOnce.Do(func() {
		p := &Ports{grid: map[int64][]int32{}}
		if err := p.readWPI(); err != nil {
			portsErr = err
			return
		}
		if err := p.readGFW(); err != nil {
			portsErr = err
			return
		}
		portsVal = p
	})
	return portsVal, portsErr
}

func gunzipCSV(b []byte) (*csv.Reader, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(zr)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	return r, nil
}

func (p *Ports) add(pt Port) {
	i := int32(len(p.all))
	p.all = append(p.all, pt)
	x, y := portCell(pt.Lat, pt.Lon)
	c := y*portGridW + x
	p.grid[c] = append(p.grid[c], i)
}

func (p *Ports) readWPI() error {
	r, err := gunzipCSV(wpiCSV)
	if err != nil {
		return fmt.Errorf("world port index: %w", err)
	}
	head, err := r.Read()
	if err != nil {
		return fmt.Errorf("world port index: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimPrefix(h, "\ufeff")] = i
	}
	for _, need := range []string{"Main Port Name", "Country Code", "UN/LOCODE", "Latitude", "Longitude"} {
		if _, ok := col[need]; !ok {
			return fmt.Errorf("world port index: no %q column", need)
		}
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("world port index: %w", err)
		}
		lat, e1 := strconv.ParseFloat(strings.TrimSpace(rec[col["Latitude"]]), 64)
		lon, e2 := strconv.ParseFloat(strings.TrimSpace(rec[col["Longitude"]]), 64)
		if e1 != nil || e2 != nil {
			continue
		}
		country := strings.TrimSpace(rec[col["Country Code"]])
		p.add(Port{Name: strings.TrimSpace(rec[col["Main Port Name"]]), Country: country, LOCODE: strings.TrimSpace(rec[col["UN/LOCODE"]]),
			Lat: lat, Lon: lon, DPRK: country == "North Korea", Source: "wpi"})
	}
}

func (p *Ports) readGFW() error {
	r, err := gunzipCSV(gfwAnchorageCSV)
	if err != nil {
		return fmt.Errorf("anchorages: %w", err)
	}
	if _, err := r.Read(); err != nil {
		return fmt.Errorf("anchorages: %w", err)
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("anchorages: %w", err)
		}
		if len(rec) < 6 {
			continue
		}
		lat, e1 := strconv.ParseFloat(rec[1], 64)
		lon, e2 := strconv.ParseFloat(rec[2], 64)
		if e1 != nil || e2 != nil {
			continue
		}
		p.add(Port{Name: rec[3], Country: rec[5], Lat: lat, Lon: lon, DPRK: rec[5] == "PRK", Source: "gfw-anchorage"})
	}
}

// Nearest returns the nearest port or anchorage within maxMetres and its
// distance, or ok=false.
func (p *Ports) Nearest(lat, lon, maxMetres float64) (Port, float64, bool) {
	x0, y0 := portCell(lat, lon)
	// Cells to search: maxMetres in latitude cells, widened by 1/cos(lat).
	ry := int64(math.Ceil(maxMetres/(portCellDeg*math.Pi/180*EarthRadius))) + 1
	rx := int64(math.Ceil(float64(ry) / math.Max(0.05, math.Cos(math.Min(89, math.Abs(lat))*math.Pi/180))))
	best, bestD := -1, math.Inf(1)
	for y := y0 - ry; y <= y0+ry; y++ {
		for dx := -rx; dx <= rx; dx++ {
			x := ((x0+dx)%portGridW + portGridW) % portGridW
			for _, i := range p.grid[y*portGridW+x] {
				q := p.all[i]
				if d := Distance(lat, lon, q.Lat, q.Lon); d < bestD || (d == bestD && int(i) < best) {
					best, bestD = int(i), d
				}
			}
		}
	}
	if best < 0 || bestD > maxMetres {
		return Port{}, 0, false
	}
	return p.all[best], bestD, true
}

// DPRKPorts lists the World Port Index's DPRK ports, by name.
func (p *Ports) DPRKPorts() []Port {
	var out []Port
	for _, q := range p.all {
		if q.DPRK && q.Source == "wpi" {
			out = append(out, q)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Len is the number of ports and anchorage points.
func (p *Ports) Len() int { return len(p.all) }
