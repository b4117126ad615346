package geo

import (
	"strings"
	"testing"
)

func TestPorts(t *testing.T) {
	p, err := LoadPorts()
	if err != nil {
		t.Fatal(err)
	}
	if p.Len() < 64000 {
		t.Errorf("%d ports and anchorages", p.Len())
	}
	var names []string
	for _, q := range p.DPRKPorts() {
		names = append(names, q.Name)
	}
	// All ten DPRK ports of the World Port Index.
	if got := strings.Join(names, ", "); got != "Ch'aho, Ch'ongjin, Haeju Hang, Hungnam, Kimch'aek, Kyomip'o, Najin, Nampo, Senbong, Wonsan" {
		t.Errorf("DPRK ports: %s", got)
	}
	// A ship off Nampo finds Nampo, a DPRK port.
	q, d, ok := p.Nearest(38.72, 125.38, 20000)
	if !ok || q.Name != "Nampo" || !q.DPRK || d > 10000 {
		t.Errorf("near Nampo: %+v %f %v", q, d, ok)
	}
	// The Skagen anchorage is an anchorage.
	if q, d, ok := p.Nearest(57.75, 10.7, 10000); !ok || d > 10000 {
		t.Errorf("Skagen: %+v %f", q, d)
	}
	// Mid-ocean: nothing within 50 km.
	if _, _, ok := p.Nearest(0, -150, 50000); ok {
		t.Error("port in mid-Pacific")
	}
}
