package sanctions

import (
	"runtime"
	"sort"
	"sync"
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
//
// Bundles load in parallel, one per available CPU; the result is ordered
// by list and version, so it does not depend on which finished first.
func LoadFiles(files []File) LoadResult {
	var res LoadResult
	bundles, skipped := Group(files)
	res.Skipped = skipped
	type out struct {
		ds  *Dataset
		err error
	}
	results := make([]out, len(bundles))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(bundles)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ds, err := Load(bundles[i], bundles[i].MainFile().ModTime)
				results[i] = out{ds, err}
			}
		}()
	}
	for i := range bundles {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, r := range results {
		if r.err != nil {
			res.Failed = append(res.Failed, r.err)
			continue
		}
		res.Datasets = append(res.Datasets, r.ds)
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
