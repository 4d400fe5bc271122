// Package untrusted makes text that came from a host or a runbook file safe to
// draw on the operator's terminal.
//
// Everything a probe prints, every file name, banner and error string from a
// host, and every string in a runbook file is untrusted: it must not be able
// to move the cursor, clear the screen, set the clipboard (OSC 52), change the
// window title, hide text, reorder text with bidi controls or overwrite a line
// with a carriage return so that "FAILED" reads as "PASSED".
//
// This package is the one sanitiser for that (the TUI, the bundle writer and
// the CLI all use it). Dangerous bytes and runes are not deleted silently but
// turned into visible escapes, so the operator sees that the host tried
// something:
//
//   - C0 controls except '\n' and '\t', and DEL: `\x1b`, `\r`, `\x7f` ...
//   - C1 controls U+0080–U+009F (including the 8-bit CSI U+009B): `<U+009B>`
//   - invalid UTF-8: each bad byte as `\xNN`
//   - bidi and other invisible format characters (Unicode category Cf, e.g.
//     U+202E, U+2066, U+200E, U+061C, U+FEFF, tag characters) and the line and
//     paragraph separators U+2028/U+2029: `<U+202E>`
//
// Escape sequences are neutralised: SGR colour sequences (`ESC [ … m`) are
// dropped, since they only style text and the UI applies its own styles; every
// other sequence (CSI, OSC such as `ESC ] 52 ;`, DCS, APC …) keeps its bytes
// but with ESC (and any BEL/ST terminator) shown as an escape, so it is inert
// text. "\r\n" is normalised to "\n"; a lone '\r' is shown as `\r` and never
// returns the cursor.
package untrusted
