package sanctions

import (
	"bytes"
	"strings"
	"testing"
)

// checkEntities holds for every parser: what is emitted has an id, a type,
// a primary name and a listing.
func checkEntities(t *testing.T) func(*Entity) {
	return func(e *Entity) {
		if e.ID == "" || e.Type == "" || e.Name == "" || len(e.Listings) == 0 {
			t.Fatalf("incomplete entity %+v", e)
		}
		for _, id := range e.Identifiers {
			if id.Value == "" {
				t.Fatalf("empty identifier on %s", e.ID)
			}
		}
	}
}

func FuzzParseUNXML(f *testing.F) {
	f.Add([]byte(unSample))
	f.Add([]byte(unSample[:300]))
	f.Add([]byte(`<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><REFERENCE_NUMBER>KPi.1</REFERENCE_NUMBER><FIRST_NAME>A</FIRST_NAME><INDIVIDUAL_ALIAS><QUALITY>Low</QUALITY><ALIAS_NAME>B</ALIAS_NAME></INDIVIDUAL_ALIAS></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseUNXML(bytes.NewReader(b), "fuzz.xml", checkEntities(t))
	})
}

func FuzzParseOFACXML(f *testing.F) {
	f.Add([]byte(`<sdnList><publshInformation><Publish_Date>03/28/2025</Publish_Date></publshInformation><sdnEntry><uid>1</uid><lastName>X</lastName><sdnType>Vessel</sdnType><idList><id><idType>Vessel Registration Identification</idType><idNumber>IMO 8606173</idNumber></id><id><idType>MMSI</idType><idNumber>445123000</idNumber></id></idList><vesselInfo><callSign>HMYX</callSign><vesselFlag>Korea, North</vesselFlag></vesselInfo></sdnEntry></sdnList>`))
	f.Add([]byte(`<sdnList><sdnEntry><uid>x</uid></sdnEntry>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseOFACXML(bytes.NewReader(b), "fuzz.xml", "ofac-sdn", checkEntities(t))
	})
}

func FuzzParseOFACCSV(f *testing.F) {
	f.Add([]byte(sdnSample), []byte("23510,1,\"fka\",\"OLD\",-0- \n"))
	f.Add([]byte("1,\"A\",-0- ,\"P\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"Company Number 0685974 (Hong Kong); Vessel Registration Identification IMO 1\"\n"), []byte(""))
	f.Fuzz(func(t *testing.T, main, alt []byte) {
		ParseOFACCSV(OFACCSVFiles{List: "ofac-sdn", Main: NamedReader{"m", bytes.NewReader(main)}, Alt: &NamedReader{"a", bytes.NewReader(alt)}}, checkEntities(t))
	})
}

func FuzzParseUKDerived(f *testing.F) {
	f.Add([]byte("unique_id,subject_type,un_reference_number,ofsi_group_id,date_designated,last_updated\nDPR0075,ship,,,03/10/2017,18/12/2021\n"),
		[]byte("name_id,unique_id,name_type,alias_strength,full_name,name_6,name_1,name_2,name_3,name_4,name_5\n1,DPR0075,primary,,Petrel 8,Petrel 8,,,,,\n"),
		[]byte("id,unique_id,ofsi_group_id,raw_value,identifier_type,additional_info\n1,DPR0075,,IMO9562233,imo,\n"))
	f.Fuzz(func(t *testing.T, subj, names, ids []byte) {
		ParseUKDerived(UKDerivedFiles{Subjects: NamedReader{"s", bytes.NewReader(subj)}, Names: NamedReader{"n", bytes.NewReader(names)}, Identifiers: &NamedReader{"i", bytes.NewReader(ids)}}, checkEntities(t))
	})
}

func FuzzParseEUJournalCSV(f *testing.F) {
	f.Add([]byte(strings.Join(append(append([]string{}, euHeader...), "schema2"), ",") + "\n"))
	f.Add([]byte("celex,recordId,programKey,annex,measure,startDate,reason,schema,name,alias,imoNumber,registrationNumber\n1,,EU-PRK,XIII.B,,2.3.2016,,Vessel,Chol Ryong (Ryong Gun Bong),,8606173,\n2,5,EU-PRK,XIII.B,,,,LegalEntity,OMM (X),,,1790183\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseEUJournalCSV(bytes.NewReader(b), "eu.csv", checkEntities(t))
	})
}

func FuzzParseFtM(f *testing.F) {
	f.Add([]byte(`{"id":"a","schema":"Vessel","properties":{"name":["X"],"imoNumber":["8606173"],"owner":["b"]}}
{"id":"b","schema":"Company","properties":{"name":["Y"]}}
{"id":"s","schema":"Sanction","properties":{"entity":["a"],"unscId":["KPe.1"]}}`))
	f.Add([]byte(`{"id":"o","schema":"Ownership","properties":{"asset":["a"],"owner":["zz"]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseFtM(bytes.NewReader(b), "ftm", checkEntities(t))
	})
}

// FuzzDetectAndLoad feeds arbitrary bytes through format detection and the
// parser detection picks, as 'lists show' does with an unknown file.
func FuzzDetectAndLoad(f *testing.F) {
	for _, s := range []string{unSample, sdnSample, "celex,recordId,programKey,annex,measure,startDate,reason,schema,name,alias\n", `{"id":"x","schema":"Vessel","properties":{"name":["A"]}}`, "\x00\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		bs, _ := Group([]File{memFile("fuzz_2020-01-01.csv", string(b), timeZero)})
		for _, bundle := range bs {
			ds, err := Load(bundle, timeZero)
			if err == nil && ds.Version.Total != len(ds.Entities) {
				t.Fatalf("total %d, entities %d", ds.Version.Total, len(ds.Entities))
			}
		}
	})
}
