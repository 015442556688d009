package store

import "go.mau.fi/util/dbutil"

// VersionTable is the table in which the store records its schema version.
const VersionTable = "caldicott_version"

// Upgrades is the store's schema as its migrations define it: applied to an
// empty database it makes every table the store keeps, and its length is
// the current schema version. For db migrate, which builds the target's
// schema from it and copies the tables it makes.
func Upgrades() dbutil.UpgradeTable { return upgradeTable }

// OnDatabase is a store on a database already open and at the current
// schema, with no upgrade and no lock: for db migrate, which checks the
// audit chain it copied inside the transaction that copied it (a context
// carrying db's transaction reads what it has written).
func OnDatabase(db *dbutil.Database) *Store {
	return newStore(db, nil)
}
