package executor

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"

	"github.com/caldicott/caldicott/internal/gosource"
)

// writeMethods are the Matrix client's methods (mautrix Client and
// IntentAPI) that change something on the homeserver.
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
}

// allowed are the writes that stay outside the executor by design (see
// doc.go): the emoji-verification protocol's to-device messages, the
// crypto layer's key uploads, the bot's /sync filter, and the bot's
// registration handed to the executor as a function value. Key: file
// (from the module root) and method.
var allowed = map[string]string{
	"appservice/verification/sasverify.go SendToDevice":     "to-device messages of the emoji-verification protocol",
	"appservice/verification/sasverify.go SendMessageEvent": "in-room messages of the same protocol (verification in a direct chat)",
	"appservice/verification/devicelists.go CreateFilter":   "the bot's own /sync filter (device lists)",
	"appservice/verification/e2ee.go CreateFilter":          "the encryption device's /sync filter (its sync loop is ours, paced; mautrix-go's made it before)",
}

// Only the executor changes anything on the homeserver: any other call of
// a write method of the Matrix client fails this test, as does a raw
// request with a method other than GET outside the executor (except the
// crypto layer's, listed in rawAllowed), and a file removed with os.Remove
// or os.RemoveAll (the media store's files go by DeleteMedia).
func TestOnlyTheExecutorWrites(t *testing.T) {
	paths, rels, err := gosource.ProductionFiles(filepath.Join("..", ".."), func(rel, _ string) bool {
		switch rel {
		case "appservice/executor", "internal", "e2e", "scripts", "tools":
			return true
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for i, path := range paths {
		rel := rels[i]
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			name := sel.Sel.Name
			key := rel + " " + name
			switch {
			case writeMethods[name]:
				if _, ok := allowed[key]; !ok {
					t.Errorf("%s: calls %s, which changes the homeserver; only the executor may (add an action kind)", fset.Position(call.Pos()), name)
				}
			case (name == "Remove" || name == "RemoveAll") && isIdent(sel.X, "os"):
				if !removeAllowed[key] {
					t.Errorf("%s: os.%s outside the executor; a file of the homeserver's media store is deleted only by a DeleteMedia action (list other files here if need be)", fset.Position(call.Pos()), name)
				}
			case name == "MakeRequest" || name == "MakeFullRequest":
				if len(call.Args) > 1 && !isGet(call.Args[1]) && !rawAllowed[key] {
					t.Errorf("%s: a raw %s that is not a GET; homeserver writes belong to the executor", fset.Position(call.Pos()), name)
				}
			}
			return true
		})
	}
}

// rawAllowed are raw requests that are not GETs but change no room: the
// key query (a POST that reads) and the bot's cross-signing uploads.
var rawAllowed = map[string]bool{
	"appservice/verification/crosssigning.go MakeRequest": true,
	"appservice/verification/botidentity.go MakeRequest":  true,
}

// removeAllowed are file removals outside the executor that touch no
// homeserver's store (key: file and os function). None so far: the media
// store's files are removed by DeleteMedia.
var removeAllowed = map[string]bool{}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func isGet(arg ast.Expr) bool {
	switch a := arg.(type) {
	case *ast.SelectorExpr:
		return a.Sel.Name == "MethodGet"
	case *ast.BasicLit:
		return a.Value == `"GET"`
	}
	return false
}
