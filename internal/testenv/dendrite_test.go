package testenv

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// A benchmark's Dendrite keeps its search index and JetStream on disk, as
// a trust's does, and still serves: a message is sent and indexed there.
func TestHomeserverOnDisk(t *testing.T) {
	hs := StartHomeserver(t, HomeserverOptions{OnDisk: true})
	data, err := os.ReadFile(filepath.Join(hs.Dir, "dendrite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Global struct {
			JetStream struct {
				InMemory bool `yaml:"in_memory"`
			} `yaml:"jetstream"`
		} `yaml:"global"`
		SyncAPI struct {
			Search struct {
				Enabled   bool   `yaml:"enabled"`
				InMemory  bool   `yaml:"in_memory"`
				IndexPath string `yaml:"index_path"`
			} `yaml:"search"`
		} `yaml:"sync_api"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Global.JetStream.InMemory || cfg.SyncAPI.Search.InMemory || !cfg.SyncAPI.Search.Enabled {
		t.Fatalf("not on disk: jetstream in memory %v, search %+v", cfg.Global.JetStream.InMemory, cfg.SyncAPI.Search)
	}
	cli := hs.RegisterUser(t, "alice", false)
	ctx := context.Background()
	room, err := cli.CreateRoom(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.SendText(ctx, room.RoomID, "ward round at nine"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.SyncAPI.Search.IndexPath); err != nil {
		t.Fatalf("no search index on disk: %v", err)
	}
}
