// Package commands is the bot's one registry of commands: each command is
// one value, a Def (name, usage, where and by whom it may be used, its
// handler and its reference text), defined beside its handler in the
// capability that runs it and registered in one list (Bind, New). The
// dispatcher reads a message's command, finds it, checks its arguments,
// where it was typed and who typed it (the rules for that are policy's),
// runs it, and answers every path: a typo, a refusal or a panic in a
// handler is explained, never silent. `!policy help` and docs/commands.md
// are made from the list.
//
// It must not import the capability packages: they hand it their commands.
package commands
