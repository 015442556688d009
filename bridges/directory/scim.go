package directory

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// enterpriseURI is the SCIM enterprise-user extension, where Entra ID and
// Okta put department and employee number.
const enterpriseURI = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// SCIMUsers provisions the staff directory from an identity provider
// (Entra ID, Okta) over SCIM 2.0. The SCIM id of a person is their Matrix
// user ID; userName may be a Matrix ID or an e-mail-style UPN, whose local
// part becomes the Matrix localpart on this trust's server.
type SCIMUsers struct {
	Store     *store.Store
	OwnServer string
	// Changed is told the user ID whenever someone's standing changes, so
	// their clinical rooms are checked without waiting for the next sweep.
	Changed func(userID string)
	// Actor names the identity provider in the audit log; "scim" if empty.
	Actor string
}

// NewSCIMServer builds the SCIM server for /v2 (mount it under /scim).
func NewSCIMServer(u *SCIMUsers) (http.Handler, error) {
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{
			SupportFiltering: true, SupportPatch: true, MaxResults: 200,
			AuthenticationSchemes: []scim.AuthenticationScheme{{Type: scim.AuthenticationTypeOauthBearerToken, Name: "Bearer token", Description: "directory.scim.token from Caldicott's config", Primary: true}},
		},
		ResourceTypes: []scim.ResourceType{{
			ID: optional.NewString("User"), Name: "User", Endpoint: "/Users",
			Description:      optional.NewString("Staff of the trust"),
			Schema:           schema.CoreUserSchema(),
			SchemaExtensions: []scim.SchemaExtension{{Schema: schema.ExtensionEnterpriseUser()}},
			Handler:          u,
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("SCIM server: %w", err)
	}
	return entraCompat(srv), nil
}

func badValue(format string, args ...any) error {
	e := scimerrors.ScimErrorInvalidValue
	e.Detail = fmt.Sprintf(format, args...)
	return e
}

// entryFromSCIM turns SCIM attributes into a staff entry, validated.
func (u *SCIMUsers) entryFromSCIM(attrs scim.ResourceAttributes) (policy.StaffEntry, string, error) {
	str := func(m map[string]any, k string) string {
		v, _ := m[k].(string)
		return strings.TrimSpace(v)
	}
	userName := str(attrs, "userName")
	if userName == "" {
		return policy.StaffEntry{}, "", badValue("userName is required")
	}
	userID := userName
	if !strings.HasPrefix(userName, "@") {
		local, _, _ := strings.Cut(userName, "@")
		userID = "@" + strings.ToLower(local) + ":" + u.OwnServer
	}
	e := policy.StaffEntry{UserID: userID, Name: str(attrs, "displayName"), Role: str(attrs, "title")}
	if name, ok := attrs["name"].(map[string]any); ok && e.Name == "" {
		e.Name = str(name, "formatted")
		if e.Name == "" {
			e.Name = strings.TrimSpace(str(name, "givenName") + " " + str(name, "familyName"))
		}
	}
	if ext, ok := attrs[enterpriseURI].(map[string]any); ok {
		e.Team, e.Registration = str(ext, "department"), str(ext, "employeeNumber")
	}
	status := string(policy.StatusActive)
	if active, ok := scimBool(attrs["active"]); ok && !active {
		status = string(policy.StatusSuspended)
	}
	if msg := validateEntry(&e, status, u.OwnServer); msg != "" {
		return e, "", badValue("%s", msg)
	}
	return e, userName, nil
}

// scimBool reads a boolean that some providers (Entra ID) send as "False".
func scimBool(v any) (bool, bool) {
	switch b := v.(type) {
	case bool:
		return b, true
	case string:
		switch strings.ToLower(b) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// save writes one person, journalled and (if anything changed) audited with
// the request's method, e.g. "SCIM PATCH".
func (u *SCIMUsers) save(r *http.Request, rec store.StaffRecord) error {
	by := store.DirectoryAuthor{Actor: orDefault(u.Actor, "scim"), Via: "SCIM " + r.Method}
	changes, err := u.Store.SaveStaff(r.Context(), []store.StaffRecord{rec}, by)
	if err != nil {
		return err
	}
	for _, c := range changes {
		if u.Changed != nil && c.Kind == store.ChangeStatus {
			u.Changed(c.UserID)
		}
	}
	return nil
}

func scimRecord(e policy.StaffEntry, userName string) store.StaffRecord {
	return store.StaffRecord{UserID: e.UserID, Name: e.Name, Role: e.Role, Team: e.Team, Registration: e.Registration, Status: string(e.Status), Source: "scim", ExternalID: userName}
}

func (u *SCIMUsers) resourceOf(rec store.StaffRecord) scim.Resource {
	attrs := scim.ResourceAttributes{
		"userName":    orDefault(rec.ExternalID, rec.UserID),
		"displayName": rec.Name,
		"active":      rec.Status == string(policy.StatusActive),
	}
	if rec.Role != "" {
		attrs["title"] = rec.Role
	}
	ext := map[string]any{}
	if rec.Team != "" {
		ext["department"] = rec.Team
	}
	if rec.Registration != "" {
		ext["employeeNumber"] = rec.Registration
	}
	if len(ext) > 0 {
		attrs[enterpriseURI] = ext
	}
	now := u.Store.Now()
	return scim.Resource{ID: rec.UserID, Attributes: attrs, Meta: scim.Meta{LastModified: &now}}
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// lookup returns a SCIM-provisioned, not-deleted person.
func (u *SCIMUsers) lookup(r *http.Request, id string) (store.StaffRecord, error) {
	rec, err := u.Store.Staff(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (rec.Source != "scim" || rec.Status == string(policy.StatusLeft))) {
		return rec, scimerrors.ScimErrorResourceNotFound(id)
	}
	return rec, err
}

// Create provisions a person (POST /Users).
func (u *SCIMUsers) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	e, userName, err := u.entryFromSCIM(attrs)
	if err != nil {
		return scim.Resource{}, err
	}
	if existing, err := u.lookup(r, e.UserID); err == nil && existing.UserID != "" {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	if err := u.save(r, scimRecord(e, userName)); err != nil {
		return scim.Resource{}, err
	}
	return u.Get(r, e.UserID)
}

// Get returns one person (GET /Users/{id}).
func (u *SCIMUsers) Get(r *http.Request, id string) (scim.Resource, error) {
	rec, err := u.lookup(r, id)
	if err != nil {
		return scim.Resource{}, err
	}
	return u.resourceOf(rec), nil
}

// GetAll lists people, filtered (e.g. userName eq "jane@trust.nhs.uk") and paged.
func (u *SCIMUsers) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	recs, err := u.Store.StaffBySource(r.Context(), "scim")
	if err != nil {
		return scim.Page{}, err
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].UserID < recs[j].UserID })
	var matched []scim.Resource
	for _, rec := range recs {
		if rec.Status == string(policy.StatusLeft) {
			continue
		}
		res := u.resourceOf(rec)
		if params.FilterValidator != nil {
			attrs := map[string]any(res.Attributes)
			attrs["id"] = res.ID
			if params.FilterValidator.PassesFilter(attrs) != nil {
				continue
			}
		}
		matched = append(matched, res)
	}
	page := scim.Page{TotalResults: len(matched), Resources: []scim.Resource{}}
	start := max(params.StartIndex, 1) - 1
	if start < len(matched) {
		end := min(start+max(params.Count, 0), len(matched))
		page.Resources = matched[start:end]
	}
	return page, nil
}

// Replace overwrites a person (PUT /Users/{id}).
func (u *SCIMUsers) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	if _, err := u.lookup(r, id); err != nil {
		return scim.Resource{}, err
	}
	return u.update(r, id, attrs)
}

// update validates new attributes for an existing person and saves them.
func (u *SCIMUsers) update(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	e, userName, err := u.entryFromSCIM(attrs)
	if err != nil {
		return scim.Resource{}, err
	}
	if e.UserID != id {
		e2 := scimerrors.ScimErrorMutability
		e2.Detail = "userName cannot change the person's Matrix ID (" + id + ")"
		return scim.Resource{}, e2
	}
	if err := u.save(r, scimRecord(e, userName)); err != nil {
		return scim.Resource{}, err
	}
	return u.Get(r, id)
}

// Delete records the person as having left (DELETE /Users/{id}); the record
// is kept for the audit trail but no longer served over SCIM.
func (u *SCIMUsers) Delete(r *http.Request, id string) error {
	rec, err := u.lookup(r, id)
	if err != nil {
		return err
	}
	rec.Status = string(policy.StatusLeft)
	return u.save(r, rec)
}

// Patch applies add/replace/remove operations (PATCH /Users/{id}), e.g.
// Entra ID's {"op":"Replace","path":"active","value":"False"} when someone is
// disabled.
func (u *SCIMUsers) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	rec, err := u.lookup(r, id)
	if err != nil {
		return scim.Resource{}, err
	}
	attrs := map[string]any(u.resourceOf(rec).Attributes)
	for _, op := range ops {
		switch strings.ToLower(op.Op) {
		case "add", "replace":
			if op.Path == nil {
				values, ok := op.Value.(map[string]any)
				if !ok {
					return scim.Resource{}, badValue("a patch without a path needs an object value")
				}
				for k, v := range values {
					setPatchValue(attrs, k, v)
				}
				continue
			}
			setPatchValue(attrs, op.Path.String(), op.Value)
		case "remove":
			if op.Path == nil {
				return scim.Resource{}, scimerrors.ScimErrorNoTarget
			}
			setPatchValue(attrs, op.Path.String(), nil)
		default:
			return scim.Resource{}, badValue("unknown patch operation %q", op.Op)
		}
	}
	return u.update(r, id, attrs)
}

// setPatchValue sets (or, with nil, removes) an attribute named by a SCIM
// path: "title", "name.formatted" or "<extension URI>:department".
func setPatchValue(attrs map[string]any, path string, v any) {
	target, key := attrs, path
	if strings.HasPrefix(strings.ToLower(path), strings.ToLower(enterpriseURI)+":") {
		ext, _ := attrs[enterpriseURI].(map[string]any)
		if ext == nil {
			ext = map[string]any{}
			attrs[enterpriseURI] = ext
		}
		target, key = ext, path[len(enterpriseURI)+1:]
	} else if parent, sub, ok := strings.Cut(path, "."); ok {
		m, _ := attrs[parent].(map[string]any)
		if m == nil {
			m = map[string]any{}
			attrs[parent] = m
		}
		target, key = m, sub
	}
	if v == nil {
		delete(target, key)
		return
	}
	target[key] = v
}
