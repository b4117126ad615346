package sanctions

import (
	"sort"
)

// LoadResult is what loading a set of files gave: a dataset per list
// version that parsed, and the files or bundles that did not.
type LoadResult struct {
	Datasets []*Dataset
	// Skipped lists files that were not recognised or not placed.
	Skipped []Problem
	// Failed lists bundles whose load stopped, with the reason.
	Failed []error
}

// LoadFiles groups files into list versions and loads each. A failure of
// one list does not stop the others. Each file's modification time stands
// for its retrieval time.
func LoadFiles(files []File) LoadResult {
	var res LoadResult
	bundles, skipped := Group(files)
	res.Skipped = skipped
	for _, b := range bundles {
		ds, err := Load(b, b.MainFile().ModTime)
		if err != nil {
			res.Failed = append(res.Failed, err)
			continue
		}
		res.Datasets = append(res.Datasets, ds)
	}
	SortDatasets(res.Datasets)
	return res
}

// SortDatasets orders datasets by list, then oldest version first.
func SortDatasets(ds []*Dataset) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i].Version, ds[j].Version
		if a.List != b.List {
			return a.List < b.List
		}
		return a.Before(b)
	})
}

// Before orders two versions of a list: by publication date where both
// have one, then by retrieval time, then by ID.
func (v Version) Before(o Version) bool {
	if v.Published != "" && o.Published != "" && v.Published[:min(10, len(v.Published))] != o.Published[:min(10, len(o.Published))] {
		return v.Published < o.Published
	}
	if !v.Retrieved.Equal(o.Retrieved) {
		return v.Retrieved.Before(o.Retrieved)
	}
	return v.ID < o.ID
}

// Latest keeps the newest version of each list.
func Latest(ds []*Dataset) []*Dataset {
	best := map[string]*Dataset{}
	for _, d := range ds {
		if cur, ok := best[d.Version.List]; !ok || cur.Version.Before(d.Version) {
			best[d.Version.List] = d
		}
	}
	out := make([]*Dataset, 0, len(best))
	for _, d := range best {
		out = append(out, d)
	}
	SortDatasets(out)
	return out
}
