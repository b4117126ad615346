package names

import "testing"

func TestLooksKorean(t *testing.T) {
	for _, w := range []string{"KUMGANG", "CHONGCHONGANG", "RYONG", "SHIN", "KOREA", "PYONGYANG", "CHOLLIMA", "PAEKTUSAN",
		"HUICHON", "KIMCHAEK", "CHEONMASAN", "JONG", "UN", "YOUNG", "HWANG", "GEUMGANG", "TAEDONGGANG", "RYEONG", "SINUIJU", "TCHOL", "MOKRAN", "PATRIOT"} {
		if !LooksKorean([]string{w}) {
			t.Errorf("%s: not Korean", w)
		}
	}
	for _, w := range []string{"GOLD", "STAR", "PAD", "DCB", "VICTORY", "BRIDGE", "GLORY", "NEW", "REGENT",
		"TRADING", "GROUP", "SEVASTOPOL", "DAWNLIGHT", "X", "", "KIM2"} {
		if LooksKorean([]string{w}) {
			t.Errorf("%q: Korean", w)
		}
	}
	if LooksKorean(nil) || LooksKorean([]string{"KUM", "STAR"}) || !LooksKorean([]string{"KUM", "UN", "SAN"}) {
		t.Error("word lists")
	}
}
