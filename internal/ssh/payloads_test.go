package ssh_test

import (
	"fmt"
	"strings"
)

// injectionPayloads is the hostile-param corpus for the login-shell tests:
// every construct that means something to sh, bash, dash, zsh, fish or tcsh
// (quotes and their escapes, $() and backticks, ; | & && ||, globs, ~, !
// history, \ at the end, newlines, %, ^, fish (...) and {}, tcsh !! and
// $<, zsh glob qualifiers). Each one that tries to run something runs
// `touch DIR/pN`, so a test can assert afterwards that nothing ran.
func injectionPayloads(dir string) []string {
	n := 0
	x := func() string { n++; return fmt.Sprintf("touch %s/p%d", dir, n) }
	var out []string
	add := func(vs ...string) { out = append(out, vs...) }
	// Plain constructs, no command.
	add("", " ", "  two  spaces  ", "a b", "'", "''", `"`, `""`, `\`, `\\`, `\'`, `\"`, `'\''`, `a\`, `a\\`, `'\`, `"\`,
		"$HOME", "${HOME}", "$status", "$?", "$$", "$!", "$#", "$@", "$*", "$0", "$1", "$IFS", "$(", "`", "((", "))",
		"*", "?", "[a]", "[!a]", "/*", "/etc/*", "{a,b}", "{}", "{,}", "~", "~root", "~+", "~-", "=ls", "-n", "-e", "--", "-",
		"!", "!!", "!-1", "!$", "!*", "!#", "!:0", "\\!", "^", "^a^b", "^^", "%", "%1", "%%", "%s%n", "#", "a #b", ";", "&", "|",
		"a;b", "a&&b", "a||b", "a|b", "a>b", "<a", ">", ">>", "2>&1", "&>", "^&", "\t", "a\tb", "\n", "a\nb", "\\\n", "a\\\nb",
		"é", "日本語", "🙂", "\u202e", "\x1b[31m", "\x7f", "\x01", "$'\\x41'", "$\"x\"", "%{x}", "$<", "$~", "\\$HOME", "$(())", "$((1+1))")
	// Attempts to run a command, in each shell's syntax.
	for _, f := range []func(c string) string{
		func(c string) string { return "'; " + c + "; '" },
		func(c string) string { return "'; " + c + " #" },
		func(c string) string { return `"; ` + c + `; "` },
		func(c string) string { return `"; ` + c + ` #` },
		func(c string) string { return "$(" + c + ")" },
		func(c string) string { return `"$(` + c + `)"` },
		func(c string) string { return "'$(" + c + ")'" },
		func(c string) string { return "`" + c + "`" },
		func(c string) string { return "\"`" + c + "`\"" },
		func(c string) string { return "; " + c },
		func(c string) string { return "a;" + c },
		func(c string) string { return "| " + c },
		func(c string) string { return "& " + c },
		func(c string) string { return "&& " + c },
		func(c string) string { return "|| " + c },
		func(c string) string { return "\n" + c },
		func(c string) string { return "a\n" + c + "\n" },
		func(c string) string { return "\r\n" + c },
		func(c string) string { return `\'\';` + c + `;#` },  // fish: \' inside '...'
		func(c string) string { return `\'; ` + c + `; \'` }, // fish
		func(c string) string { return `\\'; ` + c + `; #` }, // fish
		func(c string) string { return "(" + c + ")" },       // fish command substitution
		func(c string) string { return "a(" + c + ")b" },     // fish
		func(c string) string { return `"(` + c + `)"` },     // fish
		func(c string) string { return "{" + c + "}" },       // fish block / brace
		func(c string) string { return "begin; " + c + "; end" },
		func(c string) string { return "!!;" + c },         // tcsh history
		func(c string) string { return "!" + c },           // tcsh/bash history
		func(c string) string { return "\\!; " + c },       // tcsh
		func(c string) string { return "'\\\n" + c + "'" }, // tcsh: backslash-newline in quotes
		func(c string) string { return "^x^" + c + "^" },   // tcsh quick substitution
		func(c string) string { return "%" + c },
		func(c string) string { return "*(e:'" + c + "':)" }, // zsh glob qualifier
		func(c string) string { return "$(" + c + ")\\" },
		func(c string) string { return "${IFS}" + c },
		func(c string) string { return "x=$(" + c + ")" },
		func(c string) string { return "$((`" + c + "`))" },
		func(c string) string { return "<(" + c + ")" }, // bash/zsh process substitution
		func(c string) string { return ">(" + c + ")" },
		func(c string) string { return "=(" + c + ")" }, // zsh
		func(c string) string { return "$[" + c + "]" }, // zsh arithmetic / old bash
		func(c string) string { return "eval " + c },    // a word, never a command
		func(c string) string { return "exec " + c },    // a word, never a command
		func(c string) string { return `\` + "\n" + c }, // line continuation
		func(c string) string { return c + ` \` },       // \ at the end
		func(c string) string { return `'"'"'; ` + c + `; '"'"'` },
	} {
		add(f(x()), "a "+f(x())+" b")
	}
	// Long enough that the printf bootstrap would not fit MaxCommandLine
	// (each of these bytes takes 4), so the line goes as base64.
	add(strings.Repeat(`'"$;|&`+"`", 2500) + "'; " + x() + "; '")
	return out
}

// nonNulPayloads drops values no argv can carry.
func nonNulPayloads(vs []string) []string {
	var out []string
	for _, v := range vs {
		if !strings.ContainsRune(v, 0) {
			out = append(out, v)
		}
	}
	return out
}
