package store

import (
	"context"
	"time"

	"github.com/lib/pq"
	"github.com/rs/zerolog"
)

// inboxChannel is what the inbox's trigger notifies on PostgreSQL
// (upgrades/21-leader.sql) whenever any process stores events.
const inboxChannel = "caldicott_inbox"

// listenRetryMax bounds the wait between attempts to reconnect the inbox's
// listener, so it is back within two seconds of the database (a restart,
// a failover), not up to lib/pq's doubling reaching half a minute later:
// meanwhile the leader only polls, every five seconds. An attempt at a
// server that is down costs a refused connection.
const listenRetryMax = 2 * time.Second

// ListenInbox calls wake whenever any process stores events in the inbox,
// until ctx ends: the leader hears at once of transactions a standby
// accepted. On PostgreSQL it LISTENs on a connection of its own, which
// lib/pq re-opens after a failure, LISTENing again (and wake is called
// then too, for what was stored meanwhile); on SQLite, whose one process
// wakes itself, it returns at once.
func (s *Store) ListenInbox(ctx context.Context, wake func()) {
	if s.Engine() != Postgres {
		return
	}
	log := zerolog.Ctx(ctx)
	l := pq.NewListener(s.uri, time.Second, listenRetryMax, func(ev pq.ListenerEventType, err error) {
		switch ev {
		case pq.ListenerEventDisconnected:
			log.Warn().Err(err).Msg("The inbox's notifications were interrupted; polling meanwhile")
		case pq.ListenerEventReconnected:
			log.Info().Msg("Listening for the inbox's notifications again")
		}
	})
	defer l.Close()
	if err := l.Listen(inboxChannel); err != nil {
		log.Warn().Err(err).Msg("Cannot listen for the inbox's notifications; polling instead")
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.Notify: // nil after a reconnection: wake anyway
			wake()
		}
	}
}
