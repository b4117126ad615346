package identity

import (
	"fmt"
	"strconv"
	"strings"
)

// MMSI is a Maritime Mobile Service Identity: nine digits whose structure
// (ITU-R M.585) says what kind of station transmits and, through the MID,
// which administration assigned it.
type MMSI uint32

// StationKind is the kind of station an MMSI's structure denotes.
type StationKind uint8

const (
	// StationInvalid: not nine digits, or a structure M.585 does not define.
	StationInvalid StationKind = iota
	// StationShip: MIDxxxxxx, a ship station.
	StationShip
	// StationGroup: 0MIDxxxxx, a group call to several ships.
	StationGroup
	// StationCoast: 00MIDxxxx, a coast station (includes AIS base stations).
	StationCoast
	// StationSARAircraft: 111MIDxxx, a search-and-rescue aircraft.
	StationSARAircraft
	// StationAtoN: 99MIDxxxx, an aid to navigation.
	StationAtoN
	// StationCraftAssociated: 98MIDxxxx, a craft associated with a parent
	// ship (lifeboat, tender, RIB).
	StationCraftAssociated
	// StationSART: 970xxxxxx, an AIS search-and-rescue transmitter.
	StationSART
	// StationMOB: 972xxxxxx, a man-overboard device.
	StationMOB
	// StationEPIRB: 974xxxxxx, an EPIRB with AIS.
	StationEPIRB
	// StationHandheld: 8MIDxxxxx, a handheld VHF with DSC.
	StationHandheld
)

var stationKindNames = [...]string{
	StationInvalid:         "invalid",
	StationShip:            "ship",
	StationGroup:           "group",
	StationCoast:           "coast",
	StationSARAircraft:     "sar_aircraft",
	StationAtoN:            "aid_to_navigation",
	StationCraftAssociated: "craft_associated_with_parent_ship",
	StationSART:            "ais_sart",
	StationMOB:             "man_overboard",
	StationEPIRB:           "epirb",
	StationHandheld:        "handheld_vhf",
}

func (k StationKind) String() string {
	if int(k) < len(stationKindNames) {
		return stationKindNames[k]
	}
	return "invalid"
}

// ParseMMSI reads nine digits (spaces and an "MMSI" prefix allowed).
func ParseMMSI(s string) (MMSI, error) {
	t := strings.TrimSpace(s)
	if len(t) >= 4 && strings.EqualFold(t[:4], "MMSI") {
		t = strings.TrimLeft(t[4:], " :.#")
	}
	t = strings.TrimRight(t, " .;,")
	if len(t) != 9 {
		return 0, fmt.Errorf("MMSI %q: want nine digits", s)
	}
	n, err := strconv.ParseUint(t, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("MMSI %q: want nine digits", s)
	}
	return MMSI(n), nil
}

// String renders nine digits with leading zeros (coast stations start 00).
func (m MMSI) String() string { return fmt.Sprintf("%09d", uint32(m)) }

// Kind decodes the station kind from the MMSI's structure.
func (m MMSI) Kind() StationKind {
	k, _ := m.decode()
	return k
}

// MID is the Maritime Identification Digits in the MMSI, or 0 when its
// structure carries none (SART, MOB, EPIRB) or is invalid.
func (m MMSI) MID() int {
	_, mid := m.decode()
	return mid
}

func (m MMSI) decode() (StationKind, int) {
	n := int(m)
	if n <= 0 || n > 999999999 {
		return StationInvalid, 0
	}
	d := func(i int) int { // i-th digit from the left of nine
		p := 1
		for j := 0; j < 8-i; j++ {
			p *= 10
		}
		return n / p % 10
	}
	first := d(0)
	switch {
	case first >= 2 && first <= 7:
		return StationShip, n / 1000000
	case first == 0 && d(1) == 0:
		return midOrInvalid(StationCoast, n/10000%1000)
	case first == 0:
		return midOrInvalid(StationGroup, n/100000%1000)
	case first == 1 && d(1) == 1 && d(2) == 1:
		return midOrInvalid(StationSARAircraft, n/1000%1000)
	case first == 8:
		return midOrInvalid(StationHandheld, n/100000%1000)
	case first == 9 && d(1) == 9:
		return midOrInvalid(StationAtoN, n/10000%1000)
	case first == 9 && d(1) == 8:
		return midOrInvalid(StationCraftAssociated, n/10000%1000)
	case first == 9 && d(1) == 7 && d(2) == 0:
		return StationSART, 0
	case first == 9 && d(1) == 7 && d(2) == 2:
		return StationMOB, 0
	case first == 9 && d(1) == 7 && d(2) == 4:
		return StationEPIRB, 0
	}
	return StationInvalid, 0
}

func midOrInvalid(k StationKind, mid int) (StationKind, int) {
	if mid < 200 || mid > 799 {
		return StationInvalid, 0
	}
	return k, mid
}

// Flag is the state whose MID the MMSI carries, from the ITU MID table. A
// MID allocated to nobody gives ok=false. For a ship this is the flag the
// ship's radio licence implies, which a ship flying a false flag often
// contradicts.
func (m MMSI) Flag() (Country, bool) {
	mid := m.MID()
	if mid == 0 {
		return "", false
	}
	return FlagOfMID(mid)
}

// FlagOfMID looks a MID up in the ITU table.
func FlagOfMID(mid int) (Country, bool) {
	tablesOnce.Do(loadTables)
	e, ok := midTable[mid]
	return e.country, ok
}

// MIDName is the ITU's name for the MID's administration, including
// subdivisions such as "Portugal - Azores".
func MIDName(mid int) string {
	tablesOnce.Do(loadTables)
	return midTable[mid].ituName
}
