package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sanctions/snapshot"
	"github.com/tidewatch/tidewatch/store/postgres"
)

func stats(name string, ds []time.Duration) {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	fmt.Printf("%-40s n=%d median %v p90 %v max %v\n", name, len(ds), ds[len(ds)/2], ds[len(ds)*9/10], ds[len(ds)-1])
}

func main() {
	ctx := context.Background()
	url := os.Args[1]
	open := func() (*postgres.DB, *app.Service) {
		db, err := postgres.Open(ctx, url, postgres.Options{Create: true})
		if err != nil {
			panic(err)
		}
		return db, app.New(app.Config{Store: db})
	}
	dbA, a := open()
	dbB, b := open()
	defer dbA.Close()
	defer dbB.Close()
	local := app.LocalPrincipal("m")
	var old, nw []sanctions.File
	for _, f := range snapshot.Files() {
		if strings.HasSuffix(f.Name, "un_consolidated_2026-02-27.xml") {
			nw = append(nw, f)
		} else {
			old = append(old, f)
		}
	}
	if _, err := a.ImportLists(ctx, local, app.ImportRequest{Files: old, Source: "m", MinRatio: -1}); err != nil {
		panic(err)
	}
	took, n, err := b.Warm(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Printf("B's first index build: %v, %d entities\n", took, n)
	var ds []time.Duration
	for range 200 {
		t := time.Now()
		if _, err := dbB.ListVersions(ctx); err != nil {
			panic(err)
		}
		ds = append(ds, time.Since(t))
	}
	stats("ListVersions (PostgreSQL)", ds)
	ds = nil
	for range 200 {
		t := time.Now()
		if ch, err := b.PollLists(ctx); err != nil || ch {
			panic(fmt.Sprint(ch, err))
		}
		ds = append(ds, time.Since(t))
	}
	stats("PollLists, nothing new", ds)
	if _, err := a.ImportLists(ctx, local, app.ImportRequest{Files: nw, Source: "m"}); err != nil {
		panic(err)
	}
	t := time.Now()
	ch, err := b.PollLists(ctx)
	fmt.Printf("PollLists after A imported UN 2026-02-27: changed %v, %v (%v)\n", ch, time.Since(t), err)
	_, stop, _ := b.SubscribeAlerts(local)
	defer stop()
	b.FollowAlerts(ctx)
	ds = nil
	for range 200 {
		t := time.Now()
		if err := b.FollowAlerts(ctx); err != nil {
			panic(err)
		}
		ds = append(ds, time.Since(t))
	}
	stats("FollowAlerts, one tenant, nothing new", ds)
	src := func() []app.ListSource { return nil }
	if _, err := a.UpdateListsDue(ctx, local, src, 24*time.Hour); err != nil {
		panic(err)
	}
	ds = nil
	for range 200 {
		t := time.Now()
		p, err := b.UpdateListsDue(ctx, local, src, 24*time.Hour)
		if err != nil || p.Ran {
			panic(fmt.Sprint(p, err))
		}
		ds = append(ds, time.Since(t))
	}
	stats("UpdateListsDue, done by another node", ds)
}
