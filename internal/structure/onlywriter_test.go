package structure

import (
	"go/ast"
	"strconv"
	"testing"

	"github.com/caldicott/caldicott/internal/gosource"
)

// writeMethods are the methods of the Matrix libraries (mautrix's Client,
// IntentAPI, crypto OlmMachine and CryptoHelper) that change something on
// the homeserver.
var writeMethods = map[string]bool{
	"SendStateEvent": true, "SendMassagedStateEvent": true, "SendMessageEvent": true, "SendMassagedMessageEvent": true,
	"SendText": true, "SendNotice": true, "SendReaction": true, "SendImage": true, "SendVideo": true,
	"RedactEvent": true, "KickUser": true, "BanUser": true, "UnbanUser": true, "InviteUser": true, "InviteUserByThirdParty": true,
	"JoinRoom": true, "JoinRoomByID": true, "LeaveRoom": true, "ForgetRoom": true, "CreateRoom": true, "Knock": true,
	"SetDisplayName": true, "SetAvatarURL": true, "SetPresence": true, "SetAccountData": true, "SetRoomAccountData": true,
	"SetPowerLevel": true, "SetRoomName": true, "SetRoomTopic": true, "CreateAlias": true, "DeleteAlias": true,
	"EnsureJoined": true, "EnsureInvited": true, "EnsureRegistered": true, "UploadMedia": true, "UploadBytes": true,
	"DeleteDevice": true, "DeleteDevices": true, "SetDeviceInfo": true, "SendToDevice": true, "UploadCrossSigningKeys": true,
	"UploadSignatures": true, "UploadKeys": true, "MarkRead": true, "SetReadMarkers": true, "UserTyping": true,
	"CreateFilter": true, "BatchSend": true, "BeeperBatchSend": true,
	// The crypto layer: made, it uploads keys and shares room keys.
	"NewCryptoHelper": true, "PublishCrossSigningKeys": true, "SignOwnDevice": true, "SignOwnMasterKey": true,
	"SignUser": true, "ShareKeys": true, "ShareGroupSession": true, "SendEncryptedToDevice": true,
}

// fileWrites are the functions of package os that create, change or
// remove a file.
var fileWrites = map[string]bool{
	"Remove": true, "RemoveAll": true, "Rename": true, "WriteFile": true, "Create": true, "CreateTemp": true,
	"OpenFile": true, "Mkdir": true, "MkdirAll": true, "MkdirTemp": true, "Chmod": true, "Chown": true,
	"Chtimes": true, "Truncate": true, "Symlink": true, "Link": true,
}

// TestOnlyTheExecutorWrites: outside appservice/executor, every write (a
// write method of the Matrix libraries, a raw Matrix request or an HTTP
// request that is not a GET, a file created, changed or removed) is one
// docs/architecture.md lists under "Writes outside the executor", and
// every row there is a write the code still makes. The executor is the
// one writer of rooms and of the homeserver's media store: a new effect
// there is a new action kind, not a row here.
func TestOnlyTheExecutorWrites(t *testing.T) {
	tree := gosource.Module(t)
	listed := map[string]row{}
	for _, r := range table(t, "## Writes outside the executor") {
		file, call := names(r.cells[0]), names(r.cells[1])
		if len(r.cells) < 4 || len(file) != 1 || len(call) != 1 || r.cells[2] == "" || r.cells[3] == "" {
			t.Errorf("%s: a row wants one `file`, one `call`, what it writes and why it is not an action", r.where())
			continue
		}
		listed[file[0]+" "+call[0]] = r
	}
	files := tree.Select(func(f *gosource.File) bool {
		return !f.In("appservice/executor", "internal/testenv", "internal/audittamper", "scripts")
	})
	seen := map[string]bool{}
	for _, c := range gosource.SelectorCalls(files) {
		name, ok := write(c)
		if !ok {
			continue
		}
		key := c.File.Rel + " " + name
		seen[key] = true
		if _, ok := listed[key]; !ok {
			t.Errorf("%s: %s writes outside the executor; make it an action kind (policy/ and the executor), or if it changes no room, add a row to %s's writes outside the executor", tree.Where(c.File, c.Expr), name, archDoc)
		}
	}
	for key, r := range listed {
		if !seen[key] {
			t.Errorf("%s: lists %s, which the code no longer calls there; take the row out", r.where(), key)
		}
	}
	if len(seen) < 5 {
		t.Fatalf("found only %d writes outside the executor; the patterns no longer match the code", len(seen))
	}
}

// write names the call as the table does, if it writes.
func write(c gosource.Call) (string, bool) {
	if pkg := c.Pkg(); pkg != "" {
		switch {
		case pkg == c.File.ImportName("os") && fileWrites[c.Name]:
			return "os." + c.Name, true
		case pkg == c.File.ImportName("net/http") && (c.Name == "NewRequest" || c.Name == "NewRequestWithContext"):
			method := 0
			if c.Name == "NewRequestWithContext" {
				method = 1
			}
			return "http." + c.Name, len(c.Expr.Args) > method && !isGet(c.Expr.Args[method])
		case pkg == c.File.ImportName("net/http") && (c.Name == "Post" || c.Name == "PostForm"):
			return "http." + c.Name, true
		}
	}
	switch {
	case writeMethods[c.Name]:
		return c.Name, true
	case c.Name == "MakeRequest" || c.Name == "MakeFullRequest":
		// MakeFullRequest takes its method in a struct: listed unless a GET is seen.
		return c.Name, !(len(c.Expr.Args) > 1 && isGet(c.Expr.Args[1]))
	}
	return "", false
}

func isGet(arg ast.Expr) bool {
	switch a := arg.(type) {
	case *ast.SelectorExpr:
		return a.Sel.Name == "MethodGet"
	case *ast.BasicLit:
		s, _ := strconv.Unquote(a.Value)
		return s == "GET"
	}
	return false
}
