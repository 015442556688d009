package directory

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// enterpriseURI is the SCIM enterprise-user extension, where Entra ID and
// Okta put department and employee number.
const enterpriseURI = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// SCIMUsers provisions the staff directory from an identity provider
// (Entra ID, Okta) over SCIM 2.0. The SCIM id of a person is their Matrix
// user ID; userName is a Matrix ID on this trust's server or an
// e-mail-style UPN on one of the trust's domains, whose local part becomes
// the Matrix localpart on this trust's server.
//
// SCIM is held to what CSV and LDAP are: it never takes over a person
// another source manages, its removals are counted against the mass-removal
// guard over a rolling window, and it tells the caller what was wrong with
// a request but never what went wrong inside (that is logged).
type SCIMUsers struct {
	Store     *store.Store
	OwnServer string
	// UPNDomains are e-mail domains of this trust besides the server
	// name's host (directory.scim.upn_domains).
	UPNDomains []string
	// Guard bounds removals over its window (directory.max_removal_fraction,
	// hold_min_removals, removal_window); zero values take the defaults.
	Guard Guard
	// Held is told when a removal is refused and no hold was in force: the
	// refusal to report to the management room. Every refusal is audited.
	Held func(userID string, held *HeldError)
	// Actor names the identity provider in the audit log; "scim" if empty.
	Actor string
	// Log receives what went wrong inside (IDs, never names or bodies).
	Log zerolog.Logger
}

// SCIMSource is the source recorded with people SCIM provisions, and the
// name its held removals are kept under in the store.
const SCIMSource = "scim"

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
	return checkSCIMRequest(srv), nil
}

func badValue(format string, args ...any) error {
	e := scimerrors.ScimErrorInvalidValue
	e.Detail = fmt.Sprintf(format, args...)
	return e
}

// Lengths beyond any real person's record (a Matrix ID is at most 255
// bytes; names, titles and departments get the same room).
const maxUserName = 255

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
	if len(userName) > maxUserName {
		return policy.StaffEntry{}, "", badValue("userName is %d bytes long; at most %d are accepted", len(userName), maxUserName)
	}
	userID, err := u.userIDOf(userName)
	if err != nil {
		return policy.StaffEntry{}, "", err
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

// userIDOf maps a userName to a Matrix user ID on this trust's server: a
// Matrix ID as it is (validateEntry checks its server), local@domain to
// @local:<own server> only when domain is the trust's. Any other domain is
// refused, so jane@elsewhere cannot claim @jane here.
func (u *SCIMUsers) userIDOf(userName string) (string, error) {
	if strings.HasPrefix(userName, "@") {
		return userName, nil
	}
	local, domain, ok := strings.Cut(userName, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return "", badValue("userName %q is neither a Matrix user ID on this trust's server (@name:%s) nor an e-mail-style name (name@%s)", userName, u.OwnServer, u.ownHost())
	}
	domain = strings.ToLower(domain)
	if domain != u.ownHost() && !slices.ContainsFunc(u.UPNDomains, func(d string) bool { return strings.EqualFold(d, domain) }) {
		return "", badValue("userName %q is on the domain %s, which is not this trust's (%s); if the domain belongs to the trust, add it to directory.scim.upn_domains in Caldicott's config", userName, domain, strings.Join(u.trustDomains(), ", "))
	}
	return "@" + strings.ToLower(local) + ":" + u.OwnServer, nil
}

// ownHost is the server name without its port: example.org for example.org:8448.
func (u *SCIMUsers) ownHost() string {
	host := u.OwnServer
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	return strings.ToLower(host)
}

func (u *SCIMUsers) trustDomains() []string {
	out := []string{u.ownHost()}
	for _, d := range u.UPNDomains {
		if d = strings.ToLower(d); !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
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
// the request's method, e.g. "SCIM PATCH". A removal beyond the guard is
// refused (403), recorded and audited; nothing is written.
func (u *SCIMUsers) save(r *http.Request, rec store.StaffRecord) error {
	by := store.DirectoryAuthor{Actor: u.actor(), Via: "SCIM " + r.Method}
	_, err := u.Store.SaveStaffChecked(r.Context(), []store.StaffRecord{rec}, by, u.removalCheck)
	var held *HeldError
	if errors.As(err, &held) {
		return u.refuseRemoval(r, rec, held)
	}
	return err
}

func (u *SCIMUsers) actor() string { return orDefault(u.Actor, SCIMSource) }

func scimRecord(e policy.StaffEntry, userName string) store.StaffRecord {
	return store.StaffRecord{UserID: e.UserID, Name: e.Name, Role: e.Role, Team: e.Team, Registration: e.Registration, Status: string(e.Status), Source: SCIMSource, ExternalID: userName}
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
	if errors.Is(err, store.ErrNotFound) || (err == nil && (rec.Source != SCIMSource || rec.Status == string(policy.StatusLeft))) {
		return rec, scimerrors.ScimErrorResourceNotFound(id)
	}
	return rec, err
}

// Create provisions a person (POST /Users).
func (u *SCIMUsers) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	res, err := u.create(r, attrs)
	return res, u.safe(r, err)
}

func (u *SCIMUsers) create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	e, userName, err := u.entryFromSCIM(attrs)
	if err != nil {
		return scim.Resource{}, err
	}
	existing, err := u.Store.Staff(r.Context(), e.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return scim.Resource{}, err
	default:
		if problem := takeover(existing, userName); problem != "" {
			conflict := scimerrors.ScimErrorUniqueness
			conflict.Detail = problem
			return scim.Resource{}, conflict
		}
	}
	if err := u.save(r, scimRecord(e, userName)); err != nil {
		return scim.Resource{}, err
	}
	return u.get(r, e.UserID)
}

// takeover says why creating userName over an existing record would take
// it from someone, or "" when the create may go ahead: only a person SCIM
// itself provisioned under the same userName, who has left, comes back.
func takeover(existing store.StaffRecord, userName string) string {
	switch {
	case existing.Source != SCIMSource:
		return fmt.Sprintf("%s is already in the staff directory from another source (%s); SCIM may not take over a person another source manages. Remove them from that source first, or provision a different userName. Nothing was changed.", existing.UserID, existing.Source)
	case existing.Status != string(policy.StatusLeft):
		return fmt.Sprintf("%s is already provisioned; update them with PUT or PATCH /Users/{id}. Nothing was changed.", existing.UserID)
	case !strings.EqualFold(existing.ExternalID, userName):
		return fmt.Sprintf("%s belonged to someone else, who has left; a Matrix account is never given to another person. Provision a different userName. Nothing was changed.", existing.UserID)
	}
	return ""
}

// Get returns one person (GET /Users/{id}).
func (u *SCIMUsers) Get(r *http.Request, id string) (scim.Resource, error) {
	res, err := u.get(r, id)
	return res, u.safe(r, err)
}

func (u *SCIMUsers) get(r *http.Request, id string) (scim.Resource, error) {
	rec, err := u.lookup(r, id)
	if err != nil {
		return scim.Resource{}, err
	}
	return u.resourceOf(rec), nil
}

// GetAll lists people, filtered (e.g. userName eq "jane@trust.nhs.uk") and paged.
func (u *SCIMUsers) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	recs, err := u.Store.StaffBySource(r.Context(), SCIMSource)
	if err != nil {
		return scim.Page{}, u.safe(r, err)
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
		return scim.Resource{}, u.safe(r, err)
	}
	res, err := u.update(r, id, attrs)
	return res, u.safe(r, err)
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
	return u.get(r, id)
}

// Delete records the person as having left (DELETE /Users/{id}); the record
// is kept for the audit trail but no longer served over SCIM.
func (u *SCIMUsers) Delete(r *http.Request, id string) error {
	rec, err := u.lookup(r, id)
	if err != nil {
		return u.safe(r, err)
	}
	rec.Status = string(policy.StatusLeft)
	return u.safe(r, u.save(r, rec))
}

// Patch applies add/replace/remove operations (PATCH /Users/{id}), e.g.
// Entra ID's {"op":"Replace","path":"active","value":"False"} when someone is
// disabled.
func (u *SCIMUsers) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	res, err := u.patch(r, id, ops)
	return res, u.safe(r, err)
}

func (u *SCIMUsers) patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
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
