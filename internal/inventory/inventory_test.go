package inventory

import (
	"reflect"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{"web1", []string{"web1"}, ""},
		{"h1,h2, h3", []string{"h1", "h2", "h3"}, ""},
		{"web[01:03]", []string{"web01", "web02", "web03"}, ""},
		{"web[1:3].example.com", []string{"web1.example.com", "web2.example.com", "web3.example.com"}, ""},
		{"db-[a:c]", []string{"db-a", "db-b", "db-c"}, ""},
		{"n[0:6:3]", []string{"n0", "n3", "n6"}, ""},
		{"r[1:2]n[a:b]", []string{"r1na", "r1nb", "r2na", "r2nb"}, ""},
		{"root@web[8:9]:2222", []string{"root@web8:2222", "root@web9:2222"}, ""},
		{"[::1]:22", []string{"[::1]:22"}, ""},
		{"root@[fe80::1]", []string{"root@[fe80::1]"}, ""},
		{"a,,b", nil, "empty entry"},
		{"web[3:1]", nil, "count up"},
		{"web[1:200000]", nil, "more than"},
		{"web[01:03", nil, "without ]"},
		{"web[x:5]", nil, "not a range"},
	} {
		got, err := Expand(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Expand(%q) = %v, %v; want error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Expand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// The INI example of Ansible's inventory guide, with the vars a fleet has.
const iniInventory = `# production
mail.example.com

[flinkservers]
flink-a ansible_host=10.0.0.5
flink-b ansible_host=10.0.0.6 ansible_port=2222 ansible_user=admin
flink-[c:d].example.com

[flinkservers:vars]
ansible_user=root

[dbservers]
one.example.com ansible_host="192.0.2.50"   # a comment
two.example.com ansible_host=2001:db8::2 ansible_port=22

[prod:children]
flinkservers
dbservers

[all:vars]
ansible_user=ops
`

func targets(t *testing.T, inv *Inventory, group string) []string {
	t.Helper()
	hs, err := inv.Group(group)
	if err != nil {
		t.Fatalf("Group(%s): %v", group, err)
	}
	var out []string
	for _, h := range hs {
		out = append(out, h.Target())
	}
	return out
}

func TestINI(t *testing.T) {
	inv, err := Parse("hosts.ini", []byte(iniInventory))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := targets(t, inv, "flinkservers"), []string{"root@10.0.0.5", "admin@10.0.0.6:2222", "root@flink-c.example.com", "root@flink-d.example.com"}; !reflect.DeepEqual(got, want) {
		t.Errorf("flinkservers: %q, want %q", got, want)
	}
	// Children: prod is both groups; nearest group vars win over all's.
	if got, want := targets(t, inv, "prod"), []string{"root@10.0.0.5", "admin@10.0.0.6:2222", "root@flink-c.example.com", "root@flink-d.example.com", "ops@192.0.2.50", "ops@[2001:db8::2]:22"}; !reflect.DeepEqual(got, want) {
		t.Errorf("prod: %q, want %q", got, want)
	}
	if got, want := targets(t, inv, "ungrouped"), []string{"ops@mail.example.com"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ungrouped: %q, want %q", got, want)
	}
	if got := targets(t, inv, "all"); len(got) != 7 {
		t.Errorf("all: %q", got)
	}
	if _, err := inv.Group("webservers"); err == nil || !strings.Contains(err.Error(), "flinkservers") {
		t.Errorf("unknown group: %v, want the list of groups", err)
	}
}

func TestINIErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"[web\nh1\n", "x.ini:1: section header"},
		{"[web]\nh1 ansible_port=http\n", "x.ini:2: host h1: ansible_port=\"http\" is not a port"},
		{"[web]\nh1 ansible_host\n", "x.ini:2: host h1: \"ansible_host\" is not NAME=VALUE"},
		{"[web:hosts]\n", "x.ini:1: section [web:hosts]"},
		{"[web]\n-oProxyCommand=x\n", "is not a host name"},
	} {
		_, err := Parse("x.ini", []byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q): %v, want %q", tc.in, err, tc.want)
		}
	}
}

const yamlInventory = `all:
  vars:
    ansible_user: ops
  hosts:
    mail.example.com:
  children:
    flinkservers:
      vars:
        ansible_user: root
      hosts:
        flink-a: {ansible_host: 10.0.0.5}
        flink-b:
          ansible_host: 10.0.0.6
          ansible_port: 2222
    workers:
      hosts:
        worker[01:02]:
`

func TestYAML(t *testing.T) {
	inv, err := Parse("hosts.yaml", []byte(yamlInventory))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := targets(t, inv, "flinkservers"), []string{"root@10.0.0.5", "root@10.0.0.6:2222"}; !reflect.DeepEqual(got, want) {
		t.Errorf("flinkservers: %q, want %q", got, want)
	}
	if got, want := targets(t, inv, "workers"), []string{"ops@worker01", "ops@worker02"}; !reflect.DeepEqual(got, want) {
		t.Errorf("workers: %q, want %q", got, want)
	}
}

// What `ansible-inventory -i hosts.ini --list` prints (ansible-core 2.16).
const jsonInventory = `{
    "_meta": {
        "hostvars": {
            "flink-a": {"ansible_host": "10.0.0.5", "ansible_user": "root"},
            "flink-b": {"ansible_host": "10.0.0.6", "ansible_port": 2222, "ansible_user": "admin"},
            "mail.example.com": {"ansible_user": "ops"}
        }
    },
    "all": {"children": ["ungrouped", "flinkservers"]},
    "flinkservers": {"hosts": ["flink-a", "flink-b"]},
    "ungrouped": {"hosts": ["mail.example.com"]}
}`

func TestAnsibleInventoryListJSON(t *testing.T) {
	inv, err := Parse("inv.json", []byte(jsonInventory))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := targets(t, inv, "flinkservers"), []string{"root@10.0.0.5", "admin@10.0.0.6:2222"}; !reflect.DeepEqual(got, want) {
		t.Errorf("flinkservers: %q, want %q", got, want)
	}
	if got := targets(t, inv, "all"); len(got) != 3 {
		t.Errorf("all: %q", got)
	}
}
