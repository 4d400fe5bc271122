package run

import "github.com/runbook-dev/runbook/internal/engine"

// HostNames is the journal's form of the target bindings.
func HostNames(t map[string][]engine.Host) map[string][]string {
	out := map[string][]string{}
	for role, hs := range t {
		for _, h := range hs {
			out[role] = append(out[role], h.Name)
		}
	}
	return out
}

// HostAddrs are the targets' dial addresses where they differ from their
// names (inventory hosts), for the journal.
func HostAddrs(t map[string][]engine.Host) map[string]string {
	var out map[string]string
	for _, hs := range t {
		for _, h := range hs {
			if h.Addr != "" {
				if out == nil {
					out = map[string]string{}
				}
				out[h.Name] = h.Addr
			}
		}
	}
	return out
}

// PublicParams are the params to journal: secrets stay out of files.
func PublicParams(rb *engine.Runbook, params map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range params {
		if p := rb.Param(k); p != nil && !p.Secret {
			out[k] = v
		}
	}
	return out
}

func flatCaptures(c map[string]map[string]string) map[string]string {
	out := map[string]string{}
	for step, m := range c {
		for k, v := range m {
			out[step+"."+k] = v
		}
	}
	return out
}
