package appservice

import (
	"github.com/caldicott/caldicott/appservice/executor"
)

func isTransient(err error) bool { return executor.IsTransient(err) }
func transient(err error) error  { return executor.Transient(err) }
