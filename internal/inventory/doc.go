// Package inventory reads the host lists fleets already keep, so a role can
// be bound to many hosts at once: Ansible inventories (INI and YAML, with
// groups, children, ansible_host/ansible_port/ansible_user), the JSON that
// `ansible-inventory --list` prints, and host patterns (`web[01:20]`,
// `db-[a:c]`, comma lists) on the command line.
package inventory
