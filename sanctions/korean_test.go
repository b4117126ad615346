package sanctions

import "testing"

func TestMayBeKorean(t *testing.T) {
	for _, c := range []struct {
		name string
		e    Entity
		want bool
	}{
		{"DPRK programme", Entity{Listings: []Listing{{Programmes: []string{"DPRK3"}}}}, true},
		{"Korean flag", Entity{Flag: "KP"}, true},
		{"a Korean flag before", Entity{Flag: "PA", PastFlags: []string{"KR"}}, true},
		{"nationality as a name", Entity{Nationalities: []string{"Korea, North"}}, true},
		{"address in Korea", Entity{Addresses: []Address{{City: "Busan", Country: "KOR"}}}, true},
		{"a name in Hangul", Entity{Names: []Name{{Value: "TALA"}, {Value: "천마산"}}}, true},
		{"another programme, flag and country", Entity{Flag: "PA", Nationalities: []string{"IR"}, Addresses: []Address{{Country: "Iran"}},
			Names: []Name{{Value: "TALA"}}, Listings: []Listing{{Programmes: []string{"IRAN", "SDGT"}}}}, false},
		{"nothing known", Entity{Names: []Name{{Value: "GOLD"}}}, false},
	} {
		if got := c.e.MayBeKorean(); got != c.want {
			t.Errorf("%s: MayBeKorean %v, want %v", c.name, got, c.want)
		}
	}
}
