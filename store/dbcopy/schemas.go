package dbcopy

import (
	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/crypto/sql_store_upgrade"
	"maunium.net/go/mautrix/sqlstatestore"

	"github.com/caldicott/caldicott/store"
)

// schema is one set of migrations whose tables live in Caldicott's database.
type schema struct {
	// name says whose tables these are, in messages.
	name string
	// versionTable records how far the migrations have run.
	versionTable string
	upgrades     dbutil.UpgradeTable
	// optional: the source may not have it at all (the bot's encryption
	// device was never turned on).
	optional bool
}

// current is the version a database is at when every migration has run.
func (s schema) current() int { return len(s.upgrades) }

// schemas are the migrations of everything Caldicott keeps, in the order
// the target's schema is made. The appservice's own state store is kept in
// memory, so it has nothing here; the encryption device's client keeps its
// state store (mx_*) in the database, made by the crypto helper.
func schemas() []schema {
	return []schema{
		{name: "Caldicott's store", versionTable: store.VersionTable, upgrades: store.Upgrades()},
		{name: "the bot's encryption keys (crypto store)", versionTable: sql_store_upgrade.VersionTableName, upgrades: sql_store_upgrade.Table, optional: true},
		{name: "the bot's encryption device's room state (state store)", versionTable: sqlstatestore.VersionTableName, upgrades: sqlstatestore.UpgradeTable, optional: true},
	}
}

// isVersionTable: version tables are made by the migrations on the target,
// not copied.
func isVersionTable(table string) bool {
	for _, s := range schemas() {
		if s.versionTable == table {
			return true
		}
	}
	return false
}
