package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Slapd is a throwaway OpenLDAP server from Debian's slapd package.
type Slapd struct {
	URL, BaseDN, AdminDN, AdminPassword string
	dir, conf                           string
	cmd                                 *exec.Cmd
}

// SlapdBin is where Debian installs slapd; override with CALDICOTT_SLAPD.
func SlapdBin() string {
	if v := os.Getenv("CALDICOTT_SLAPD"); v != "" {
		return v
	}
	return "/usr/sbin/slapd"
}

// StartSlapd starts slapd on a free loopback port with an empty directory
// for dc=trust-a,dc=nhs,dc=uk holding ou=people; ldif, if given, is loaded
// with slapadd first (how a large directory is loaded fast).
func StartSlapd(t testing.TB, ldif string) *Slapd {
	t.Helper()
	if _, err := os.Stat(SlapdBin()); err != nil {
		Unavailable(t, "no slapd at %s (apt-get install slapd)", SlapdBin())
	}
	dir := t.TempDir()
	s := &Slapd{BaseDN: "dc=trust-a,dc=nhs,dc=uk", AdminDN: "cn=admin,dc=trust-a,dc=nhs,dc=uk", AdminPassword: "admin-secret", dir: dir}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	s.conf = filepath.Join(dir, "slapd.conf")
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile %[1]s/slapd.pid
sizelimit unlimited
database mdb
maxsize 4294967296
suffix "%[2]s"
rootdn "%[3]s"
rootpw %[4]s
directory %[1]s/data
index objectClass eq
index uid eq
index modifyTimestamp eq
`, dir, s.BaseDN, s.AdminDN, s.AdminPassword)
	if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: trust-a\no: Trust A\n\ndn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n", s.BaseDN, s.BaseDN)
	ldifPath := filepath.Join(dir, "init.ldif")
	if err := os.WriteFile(ldifPath, []byte(base+ldif), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("/usr/sbin/slapadd", "-f", s.conf, "-q", "-l", ldifPath).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	port := FreePort(t, "127.0.0.1")
	s.URL = fmt.Sprintf("ldap://127.0.0.1:%d", port)
	logFile, _ := os.Create(filepath.Join(dir, "slapd.log"))
	s.cmd = exec.Command(SlapdBin(), "-f", s.conf, "-h", s.URL+"/", "-d", "0")
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start slapd: %v", err)
	}
	t.Cleanup(s.Stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := ldap.DialURL(s.URL)
		if err == nil {
			conn.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("slapd did not answer: %v\n%s", err, tailFile(filepath.Join(dir, "slapd.log"), 2000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends slapd.
func (s *Slapd) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Admin returns a connection bound as the directory's admin.
func (s *Slapd) Admin(t testing.TB) *ldap.Conn {
	t.Helper()
	conn, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Bind(s.AdminDN, s.AdminPassword); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// PersonLDIF is one inetOrgPerson as LDIF; status goes in employeeType and
// the professional registration in employeeNumber.
func PersonLDIF(baseDN, uid, name, title, team, registration, status string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\n", uid, baseDN, uid, name, name)
	for attr, v := range map[string]string{"title": title, "ou": team, "employeeNumber": registration, "employeeType": status} {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", attr, v)
		}
	}
	return b.String() + "\n"
}
