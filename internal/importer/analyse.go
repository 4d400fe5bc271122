package importer

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// route is one "if COND, go to N" found in a step's text. To is a vendor
// number as text, or "" with End set for "no further action is required".
type route struct {
	cond string // "yes", "no" or the condition as written
	to   int
	end  bool
	line int
}

// command is one command line found in a step's text.
type command struct {
	cmd         string
	line        int
	changes     bool // changes state: a fix
	destructive bool
	todo        []string
	params      []placeholder
}

// placeholder is prose standing where a value goes ("ping IP address of the
// standby FlinkServer"); it becomes a string param.
type placeholder struct {
	name, text string
}

var (
	// English: "If yes, go to 6.", "If the file size is not 0, go to 12.",
	// "If it is displayed, rectify … Go to 13.", "If the alarm persists, go to 12."
	enIfRe   = regexp.MustCompile(`(?i)\bif\s+([^,.;]+)`)
	enGotoRe = regexp.MustCompile(`(?i)\bgo\s+to\s+(?:step\s+)?(\d{1,3})\b`)
	enEndRe  = regexp.MustCompile(`(?i)no\s+further\s+action\s+is\s+required|the\s+procedure\s+(?:ends|is\s+complete)`)
	// Chinese: "是,转到6。", "否,执行步骤4。", "如果…,则转到12。", "是,处理完毕。"
	zhGotoRe = regexp.MustCompile(`(?:转到|跳转到|跳至|转至|执行)\s*(?:步骤|第)?\s*(\d{1,3})`)
	zhCondRe = regexp.MustCompile(`^(?:[•·-]\s*)?(是|否|如果|若)([^,,。;;]*)`)
	zhEndRe  = regexp.MustCompile(`处理完毕|无需(?:进一步|其他|任何)?(?:操作|处理)|操作结束`)
	// Korean: "예인 경우 6단계로 이동합니다.", "아니요: 4단계로 이동", "예인 경우 추가 작업이 필요 없습니다."
	koGotoRe = regexp.MustCompile(`(\d{1,3})\s*(?:단계|번)\s*(?:로|으로)?\s*이동`)
	koCondRe = regexp.MustCompile(`^(?:[•·-]\s*)?(예|아니요|아니오)`)
	koEndRe  = regexp.MustCompile(`(?:추가|더 이상의?)\s*(?:작업|조치)(?:이|가|은|는)?\s*필요(?:하지)?\s*(?:없|않)`)
	// Russian: "Если да, перейдите к шагу 6.", "нет → перейти к 4", "дальнейшие действия не требуются".
	ruGotoRe = regexp.MustCompile(`(?i)(?:перейти|перейдите|переходите|переход)\s*(?:к\s*)?(?:шагу|пункту|п\.)?\s*(\d{1,3})`)
	ruCondRe = regexp.MustCompile(`(?i)^(?:[•·-]\s*)?(?:если\s+)?(да|нет)(?:[\s,:.→—-]|$)|(?i)^(?:[•·-]\s*)?если\s+([^,.;→—]+)`)
	ruEndRe  = regexp.MustCompile(`(?i)дальнейши[ех]\s+действи[йя]\s+не\s+требу`)

	// "Wait for 1 minute", "wait for about 10 minutes", "等待5分钟", "10분 정도 기다", "подождите 5 минут".
	waitRes = []*regexp.Regexp{
		regexp.MustCompile(`(?i)\bwait\s+(?:for\s+)?(?:about\s+|approximately\s+|at\s+least\s+)?(\d+|several|a\s+few)\s+(second|minute|hour)s?\b`),
		regexp.MustCompile(`等待\s*(?:约|大约)?\s*(\d+)\s*(秒|分钟|小时)`),
		regexp.MustCompile(`(\d+)\s*(초|분|시간)\s*(?:정도|동안)?\s*(?:기다|대기)`),
		regexp.MustCompile(`(?i)(?:подождите|подождать|ждите|ожидайте)\s*(?:около\s+)?(\d+)\s*(секунд|минут|час)`),
	}
	angleRe   = regexp.MustCompile(`<[A-Za-z][A-Za-z0-9_ -]{0,40}>`)
	exampleRe = regexp.MustCompile(`(?i)\bfor\s+example\b|\bexamples?\s*:|\bfollowing\s+(?:are|is)\s+(?:\w+\s+)?examples?\b|例如|示例|예:|예시|например|пример`)
	// A command after a colon in running text: "关闭集群:kubectl delete -f x.yaml".
	colonCmdRe = regexp.MustCompile(`[:：]\s*(\S.*)$`)
)

// yesWords maps the yes/no words of the seeds' languages to yes and no.
func yesNo(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "是", "예", "да":
		return "yes"
	case "no", "否", "아니요", "아니오", "нет":
		return "no"
	}
	return ""
}

// routes finds the routes in one line of text.
func routesIn(l line) []route {
	t := l.text
	cond := func() string {
		if m := enIfRe.FindStringSubmatch(t); m != nil {
			return condText(m[1])
		}
		if m := zhCondRe.FindStringSubmatch(t); m != nil {
			if yn := yesNo(m[1]); yn != "" {
				return yn
			}
			return condText(m[2])
		}
		if m := koCondRe.FindStringSubmatch(t); m != nil {
			return yesNo(m[1])
		}
		if m := ruCondRe.FindStringSubmatch(t); m != nil {
			if m[1] != "" {
				return yesNo(m[1])
			}
			return condText(m[2])
		}
		return ""
	}
	var out []route
	for _, re := range []*regexp.Regexp{enGotoRe, zhGotoRe, koGotoRe, ruGotoRe} {
		for _, m := range re.FindAllStringSubmatch(t, -1) {
			n, _ := strconv.Atoi(m[1])
			out = append(out, route{cond: cond(), to: n, line: l.no})
		}
		if len(out) > 0 {
			return out
		}
	}
	for _, re := range []*regexp.Regexp{enEndRe, zhEndRe, koEndRe, ruEndRe} {
		if re.MatchString(t) {
			return []route{{cond: cond(), end: true, line: l.no}}
		}
	}
	return nil
}

func condText(s string) string {
	s = strings.TrimSpace(s)
	if yn := yesNo(s); yn != "" {
		return yn
	}
	if r := []rune(s); len(r) > 48 {
		s = string(r[:48])
	}
	return s
}

// waitIn finds "wait N minutes" in a step's first line.
func waitIn(t string) (time.Duration, bool, bool) {
	for _, re := range waitRes {
		m := re.FindStringSubmatch(t)
		if m == nil {
			continue
		}
		n, err := strconv.Atoi(m[1])
		guessed := err != nil // "several", "a few"
		if guessed {
			n = 5
		}
		unit := time.Minute
		switch {
		case strings.HasPrefix(m[2], "second"), m[2] == "秒", m[2] == "초", strings.HasPrefix(m[2], "секунд"):
			unit = time.Second
		case strings.HasPrefix(m[2], "hour"), m[2] == "小时", m[2] == "시간", strings.HasPrefix(m[2], "час"):
			unit = time.Hour
		}
		return time.Duration(n) * unit, guessed, true
	}
	return 0, false, false
}

// Commands the importer recognises at the start of a line. Anything else is
// prose: a missed command stays in the manual text, where a human reads it.
var (
	probeCmds = words(`ping df du find ls ll cat grep egrep zgrep zcat tail head ps uptime
		netstat ss ip ifconfig lsblk blkid mount lsof stat id whoami hostname uname journalctl dmesg
		smartctl iostat vmstat sar curl wget nslookup dig traceroute awk sed md5sum sha256sum
		kubectl oc docker crictl etcdctl helm systemctl service alluxio hdfs yarn flink fsradm fsrctl
		mysql psql redis-cli lscpu cd vi vim gunzip tar echo printf cksum getenforce sysctl`)
	// Words that make a line a command only when they start it and the
	// rest looks like arguments.
	stateCmds = words(`rm rmdir mv cp kill pkill killall reboot shutdown halt mkfs dd truncate chmod chown chattr
		umount fsck wipefs shred useradd usermod userdel iptables`)
	// Sub-commands that change state.
	changeSub = words(`restart stop start reload disable enable mask delete drain cordon uncordon scale apply create
		patch replace rollout edit remove add set rm kill mount umount connect disconnect discard-my-data
		member-remove defrag compact put del format failover transitionToActive`)
	destructiveWords = words(`rm rmdir kill pkill killall reboot shutdown halt mkfs dd truncate shred wipefs fsck
		delete drain remove discard-my-data --discard-my-data del format userdel -9`)
	interactive = words(`vi vim nano less more top`)
	stopWords   = words(`a an the of to be you want for which is are that this in on at by from with your and or than if then when not`)
)

func words(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// commandIn reports whether t is a command line and returns it.
func commandIn(t string) (string, bool) {
	t = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(t, "$ "), "# "))
	f := strings.Fields(t)
	if len(f) == 0 {
		return "", false
	}
	w := f[0]
	if w == "sudo" && len(f) > 1 {
		w = f[1]
	}
	if !probeCmds[w] && !stateCmds[w] {
		return "", false
	}
	// Prose in the document's language that starts with a tool's name
	// ("flink ui上显示…") is no command.
	for _, r := range t {
		if unicode.In(r, unicode.Han, unicode.Hangul, unicode.Cyrillic, unicode.Hiragana, unicode.Katakana) {
			return "", false
		}
	}
	// "Run the following command" is prose even though "run" is no command;
	// "find the file" would be: a command line has no final full stop and
	// its second word, if any, is not a plain lowercase English word.
	if strings.HasSuffix(t, ".") && !strings.ContainsAny(t, "/-\"'") {
		return "", false
	}
	if len(f) > 1 && stopWords[strings.ToLower(f[1])] {
		return "", false
	}
	return t, true
}

// classify decides run or fix, destructive, and replaces prose placeholders
// with params.
func classify(cmd string, ln int, used map[string]bool) *command {
	c := &command{cmd: cmd, line: ln}
	f := strings.Fields(cmd)
	w := f[0]
	if w == "sudo" && len(f) > 1 {
		w = f[1]
	}
	if stateCmds[w] {
		c.changes = true
	}
	for _, a := range f[1:] {
		if changeSub[a] {
			c.changes = true
		}
	}
	if c.changes {
		for _, a := range f {
			if destructiveWords[a] {
				c.destructive = true
			}
		}
	}
	if w == "gunzip" || w == "tar" {
		c.changes = true
		c.todo = append(c.todo, "changes files in place: confirm it belongs in a fix")
	}
	if w == "ll" {
		c.cmd = strings.Replace(c.cmd, "ll", "ls -l", 1)
		c.todo = append(c.todo, "`ll` is a login-shell alias; written as `ls -l`")
	}
	// <res-id>: a placeholder, and a redirection if it ran as written.
	c.cmd = angleRe.ReplaceAllStringFunc(c.cmd, func(m string) string {
		words := strings.FieldsFunc(strings.Trim(m, "<>"), func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') })
		name := paramName(words, used)
		c.params = append(c.params, placeholder{name: name, text: m})
		c.todo = append(c.todo, "the text says "+m+": now the param "+name)
		return "{{ params." + name + " }}"
	})
	f = strings.Fields(c.cmd)
	// Placeholder prose: three or more plain words after the command that
	// include an English stop word ("IP address of the standby FlinkServer").
	args := f[1:]
	start := 0
	for start < len(args) && (strings.HasPrefix(args[start], "-") || changeSub[args[start]]) {
		start++
	}
	if rest := args[start:]; len(rest) >= 3 {
		plain, stop := true, false
		for _, a := range rest {
			if !isPlainWord(a) {
				plain = false
				break
			}
			if stopWords[strings.ToLower(a)] {
				stop = true
			}
		}
		if plain && stop {
			text := strings.Join(rest, " ")
			name := paramName(rest, used)
			c.params = append(c.params, placeholder{name: name, text: text})
			prefix := strings.Join(append([]string{}, f[:len(f)-len(rest)]...), " ")
			if w == "ll" {
				prefix = strings.Replace(prefix, "ll", "ls -l", 1)
			}
			c.cmd = prefix + " {{ params." + name + " }}"
			c.todo = append(c.todo, "the text says "+strconv.Quote(text)+": now the param "+name)
		}
	}
	return c
}

func isPlainWord(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return s != ""
}

func paramName(ws []string, used map[string]bool) string {
	var parts []string
	for _, w := range ws {
		if stopWords[strings.ToLower(w)] {
			continue
		}
		parts = append(parts, strings.ToLower(w))
		if len(parts) == 3 {
			break
		}
	}
	base := strings.Join(parts, "_")
	if base == "" {
		base = "value"
	}
	name := base
	for i := 2; used[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	used[name] = true
	return name
}
