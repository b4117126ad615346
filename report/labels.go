package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// box is a rectangle in SVG pixels.
type box struct{ x0, y0, x1, y1 float64 }

func (a box) overlaps(b box) bool {
	return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1
}

func (a box) inside(w, h float64) bool { return a.x0 >= 0 && a.y0 >= 0 && a.x1 <= w && a.y1 <= h }

// textWidth estimates the width of a sans-serif label: 0.62 em a
// character is the widest of the digits and capitals these labels use
// (DejaVu Sans and Liberation Sans, what Chromium and print drivers have).
func textWidth(s string, size float64) float64 {
	return float64(len([]rune(s)))*0.62*size + 2
}

// placer puts labels where they overlap no other label or obstacle. The
// boxes taken are indexed by a grid of cells, so a crowded map (thousands
// of events) is checked box by neighbouring box, not against all.
type placer struct {
	w, h  float64
	taken []box
	grid  map[[2]int][]int
}

const placerCell = 32.0

func (p *placer) cells(b box, f func(k [2]int)) {
	for cx := int(math.Floor(b.x0 / placerCell)); cx <= int(math.Floor(b.x1/placerCell)); cx++ {
		for cy := int(math.Floor(b.y0 / placerCell)); cy <= int(math.Floor(b.y1/placerCell)); cy++ {
			f([2]int{cx, cy})
		}
	}
}

// add reserves a box.
func (p *placer) add(b box) {
	if p.grid == nil {
		p.grid = map[[2]int][]int{}
	}
	i := len(p.taken)
	p.taken = append(p.taken, b)
	p.cells(b, func(k [2]int) { p.grid[k] = append(p.grid[k], i) })
}

// reset keeps only the given boxes reserved.
func (p *placer) reset(bs []box) {
	p.taken, p.grid = nil, nil
	for _, b := range bs {
		p.add(b)
	}
}

func (p *placer) free(b box) bool {
	if !b.inside(p.w, p.h) {
		return false
	}
	ok := true
	p.cells(b, func(k [2]int) {
		for _, i := range p.grid[k] {
			if ok && b.overlaps(p.taken[i]) {
				ok = false
			}
		}
	})
	return ok
}

// place finds a spot for a label of the given size near (x, y): beside
// the point first, then further out (drawn with a leader line). It
// reserves the spot and reports it.
func (p *placer) place(x, y, lw, lh, r float64) (box, bool) {
	for _, d := range []float64{r + 2, r + 10, r + 22, r + 38, r + 60, r + 90} {
		for _, a := range []float64{0, -45, 45, 180, -135, 135, -90, 90, -22.5, 22.5, -157.5, 157.5, -67.5, 67.5, -112.5, 112.5} {
			dx, dy := d*math.Cos(a*math.Pi/180), d*math.Sin(a*math.Pi/180)
			// Anchor the label's near side or corner at the point.
			bx := x + dx
			if dx < -0.5 {
				bx -= lw
			} else if math.Abs(dx) <= 0.5 {
				bx -= lw / 2
			}
			by := y + dy - lh/2
			if dy < -0.5*d {
				by = y + dy - lh
			} else if dy > 0.5*d {
				by = y + dy
			}
			b := box{bx, by, bx + lw, by + lh}
			if p.free(b) {
				p.add(b)
				return b, true
			}
		}
	}
	return box{}, false
}

// marker is one thing on the map to label: an event.
type marker struct {
	ref  string
	x, y float64
}

// cluster is markers close together on the map, labelled once.
type cluster struct {
	refs   []string
	x, y   float64 // centroid
	r      float64 // radius covering its markers
	label  string
	key    string // a letter when the label would be too long: listed beside the map
	at     box
	placed bool
}

// clusterMarkers groups markers closer than d pixels (single linkage),
// in the markers' order.
func clusterMarkers(ms []marker, d float64) []*cluster {
	parent := make([]int, len(ms))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	// Pairs closer than d are in the same or a neighbouring cell of size d.
	cells := map[[2]int][]int{}
	for i, m := range ms {
		k := [2]int{int(math.Floor(m.x / d)), int(math.Floor(m.y / d))}
		cells[k] = append(cells[k], i)
	}
	for i, m := range ms {
		cx, cy := int(math.Floor(m.x/d)), int(math.Floor(m.y/d))
		for dx := -1; dx <= 1; dx++ {
			for dy := -1; dy <= 1; dy++ {
				for _, j := range cells[[2]int{cx + dx, cy + dy}] {
					if j <= i || math.Hypot(m.x-ms[j].x, m.y-ms[j].y) >= d {
						continue
					}
					a, b := find(i), find(j)
					if a != b {
						if a < b {
							parent[b] = a
						} else {
							parent[a] = b
						}
					}
				}
			}
		}
	}
	byRoot := map[int]*cluster{}
	var out []*cluster
	for i, m := range ms {
		r := find(i)
		c, ok := byRoot[r]
		if !ok {
			c = &cluster{}
			byRoot[r] = c
			out = append(out, c)
		}
		c.refs = append(c.refs, m.ref)
		c.x += m.x
		c.y += m.y
	}
	for _, c := range out {
		c.x /= float64(len(c.refs))
		c.y /= float64(len(c.refs))
	}
	for i, m := range ms {
		c := byRoot[find(i)]
		c.r = math.Max(c.r, math.Hypot(m.x-c.x, m.y-c.y))
	}
	return out
}

// compressRefs writes E1, E2, E3, E5 as "E1–E3, E5".
func compressRefs(refs []string) string {
	type ref struct {
		p string
		n int
	}
	var rs []ref
	for _, r := range refs {
		i := strings.IndexAny(r, "0123456789")
		n, err := strconv.Atoi(r[max(i, 0):])
		if i <= 0 || err != nil {
			rs = append(rs, ref{r, -1})
			continue
		}
		rs = append(rs, ref{r[:i], n})
	}
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].p != rs[j].p {
			return rs[i].p < rs[j].p
		}
		return rs[i].n < rs[j].n
	})
	var parts []string
	for i := 0; i < len(rs); {
		if rs[i].n < 0 {
			parts = append(parts, rs[i].p)
			i++
			continue
		}
		j := i
		for j+1 < len(rs) && rs[j+1].p == rs[i].p && rs[j+1].n == rs[j].n+1 {
			j++
		}
		switch {
		case j == i:
			parts = append(parts, fmt.Sprintf("%s%d", rs[i].p, rs[i].n))
		case j == i+1:
			parts = append(parts, fmt.Sprintf("%s%d, %s%d", rs[i].p, rs[i].n, rs[j].p, rs[j].n))
		default:
			parts = append(parts, fmt.Sprintf("%s%d–%s%d", rs[i].p, rs[i].n, rs[j].p, rs[j].n))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// maxLabel is the longest event label drawn on the map; longer lists get
// a letter and a line in the legend beside the map.
const maxLabel = 12

// labelMarkers clusters the markers and places one label per cluster,
// merging clusters further apart until every label fits (or, past the
// last radius, leaving the rest to the legend). Obstacles are reserved
// first; the placed labels are added to p.
func labelMarkers(p *placer, ms []marker, fontSize float64) []*cluster {
	base := append([]box(nil), p.taken...)
	var out []*cluster
	for _, d := range []float64{9, 16, 28, 48, 80, 130} {
		p.reset(append(base[:len(base):len(base)], markerBoxes(ms)...))
		out = clusterMarkers(ms, d)
		keys := 0
		ok := true
		for _, c := range out {
			c.label = compressRefs(c.refs)
			if len([]rune(c.label)) > maxLabel {
				c.key = string(rune('A' + keys%26))
				if keys >= 26 {
					c.key += strconv.Itoa(keys / 26)
				}
				keys++
				c.label = c.key
			}
			c.at, c.placed = p.place(c.x, c.y, textWidth(c.label, fontSize)+4, fontSize+5, c.r+5)
			ok = ok && c.placed
		}
		if ok {
			return out
		}
	}
	return out
}

func markerBoxes(ms []marker) []box {
	out := make([]box, 0, len(ms))
	for _, m := range ms {
		out = append(out, box{m.x - 5, m.y - 5, m.x + 5, m.y + 5})
	}
	return out
}
