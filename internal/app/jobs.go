package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sort"
	"sync"
	"time"
)

// Job is long work (a large screening file, an AIS upload) running in the
// background, with its progress. Jobs live in the serving process: a
// restart loses the running ones (their callers see "not found" and
// submit again; an ingest resumes where it stopped, see package ingest).
type Job struct {
	ID       string    `json:"id"`
	Tenant   string    `json:"-"`
	Kind     string    `json:"kind"`
	State    string    `json:"state"` // running, done, failed, canceled
	Actor    string    `json:"actor"`
	Created  time.Time `json:"created"`
	Finished time.Time `json:"finished,omitzero"`
	Done     int64     `json:"done"`
	Total    int64     `json:"total"`
	Note     string    `json:"note,omitempty"`
	Error    string    `json:"error,omitempty"`
	result   any
	cancel   context.CancelFunc
}

// Job states.
const (
	JobRunning  = "running"
	JobDone     = "done"
	JobFailed   = "failed"
	JobCanceled = "canceled"
)

type jobs struct {
	mu sync.Mutex
	m  map[string]*Job
}

func newJobs() *jobs { return &jobs{m: map[string]*Job{}} }

// jobRetention is how long a finished job's result is kept; maxJobs
// bounds the jobs kept per tenant.
const (
	jobRetention = 24 * time.Hour
	maxJobs      = 200
)

// MaxRunningJobs bounds the jobs running at once per tenant and in all:
// a job holds its input in memory (a screening file) or the store's
// writer (an ingest), so a tenant cannot queue work without end.
const (
	MaxRunningJobsPerTenant = 4
	MaxRunningJobs          = 16
)

// JobProgress reports a job's progress.
type JobProgress struct {
	s  *Service
	id string
}

// Set records how much of the work is done.
func (h JobProgress) Set(done, total int64, note string) {
	h.s.jobs.mu.Lock()
	defer h.s.jobs.mu.Unlock()
	if j, ok := h.s.jobs.m[h.id]; ok {
		j.Done, j.Total = done, total
		if note != "" {
			j.Note = note
		}
	}
}

// StartJob runs fn in the background for the principal's tenant; it is
// refused (rate_limited) while the tenant, or the server, runs as many
// jobs as it may.
func (s *Service) StartJob(p Principal, kind string, total int64, fn func(ctx context.Context, pr JobProgress) (any, error)) (Job, error) {
	var b [8]byte
	rand.Read(b[:])
	s.jobs.mu.Lock()
	s.jobs.gc(p.Tenant, s.now())
	if err := s.jobs.room(p.Tenant); err != nil {
		s.jobs.mu.Unlock()
		return Job{}, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	j := &Job{ID: hex.EncodeToString(b[:]), Tenant: p.Tenant, Kind: kind, State: JobRunning, Actor: p.Actor, Created: s.now().UTC(), Total: total, cancel: cancel}
	s.jobs.m[j.ID] = j
	snapshot := *j
	s.jobs.mu.Unlock()
	go func() {
		res, err := fn(ctx, JobProgress{s: s, id: j.ID})
		s.jobs.mu.Lock()
		defer s.jobs.mu.Unlock()
		j.Finished = s.now().UTC()
		j.result = res
		switch {
		case ctx.Err() != nil:
			j.State, j.Error = JobCanceled, "canceled"
		case err != nil:
			j.State, j.Error = JobFailed, err.Error()
		default:
			j.State = JobDone
			if j.Total > 0 {
				j.Done = j.Total
			}
		}
		cancel()
	}()
	return snapshot, nil
}

// CanStartJob says whether StartJob would be refused now (checked before
// an upload is read; StartJob checks again).
func (s *Service) CanStartJob(p Principal) error {
	s.jobs.mu.Lock()
	defer s.jobs.mu.Unlock()
	return s.jobs.room(p.Tenant)
}

// room refuses a job while the tenant or the server runs its most (mu
// held).
func (j *jobs) room(tenant string) error {
	mine, all := 0, 0
	for _, x := range j.m {
		if x.State == JobRunning {
			all++
			if x.Tenant == tenant {
				mine++
			}
		}
	}
	if mine >= MaxRunningJobsPerTenant || all >= MaxRunningJobs {
		return Errorf(CodeRateLimited, "%d jobs are running for this tenant and %d in all (at most %d and %d): wait for one to finish", mine, all, MaxRunningJobsPerTenant, MaxRunningJobs)
	}
	return nil
}

// gc drops finished jobs past their retention and the oldest beyond
// maxJobs for a tenant (mu held).
func (j *jobs) gc(tenant string, now time.Time) {
	var mine []*Job
	for id, x := range j.m {
		if x.State != JobRunning && now.Sub(x.Finished) > jobRetention {
			delete(j.m, id)
			continue
		}
		if x.Tenant == tenant {
			mine = append(mine, x)
		}
	}
	if len(mine) < maxJobs {
		return
	}
	sort.Slice(mine, func(a, b int) bool { return mine[a].Created.Before(mine[b].Created) })
	for _, x := range mine[:len(mine)-maxJobs+1] {
		if x.State != JobRunning {
			delete(j.m, x.ID)
		}
	}
}

// Job returns one of the tenant's jobs and, when finished, its result.
func (s *Service) Job(p Principal, id string) (Job, any, error) {
	if err := p.need(RoleViewer, "reading a job"); err != nil {
		return Job{}, nil, err
	}
	s.jobs.mu.Lock()
	defer s.jobs.mu.Unlock()
	j, ok := s.jobs.m[id]
	if !ok || j.Tenant != p.Tenant {
		return Job{}, nil, Errorf(CodeNotFound, "no job %q", id)
	}
	return *j, j.result, nil
}

// Jobs lists the tenant's jobs, newest first.
func (s *Service) Jobs(p Principal) ([]Job, error) {
	if err := p.need(RoleViewer, "listing jobs"); err != nil {
		return nil, err
	}
	s.jobs.mu.Lock()
	defer s.jobs.mu.Unlock()
	out := []Job{}
	for _, j := range s.jobs.m {
		if j.Tenant == p.Tenant {
			out = append(out, *j)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Created.After(out[b].Created) })
	return out, nil
}

// jobRole is the least role that may cancel a job of a kind: an ingest
// changes data every tenant shares, so a viewer who may follow it may
// not stop it.
var jobRole = map[string]Role{"ingest": RoleAnalyst}

// CancelJob stops one of the tenant's running jobs.
func (s *Service) CancelJob(p Principal, id string) (Job, error) {
	j, _, err := s.Job(p, id)
	if err != nil {
		return j, err
	}
	if r, ok := jobRole[j.Kind]; ok {
		if err := p.need(r, "canceling an "+j.Kind+" job"); err != nil {
			return Job{}, err
		}
	}
	if j.State == JobRunning && j.cancel != nil {
		j.cancel()
	}
	return j, nil
}
