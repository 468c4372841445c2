//! Bypass classes of `tcp check`: ways of hiding a dangerous command from a naive
//! classifier (an interpreter's program, a here-string, a git config value, ANSI-C
//! quoting, …). One test per class, so a failure names the class.
//!
//! For each class the dangerous lines must be decided *at least* as strictly as listed
//! (REJECT is CRITICAL; REQUIRE_APPROVAL is HIGH_RISK or UNKNOWN), and the harmless lines
//! of the same shape must keep exactly their decision — closing a bypass must not turn
//! everyday commands into approvals.
//!
//! The command lines below are test data only: they are classified, never executed.

use proptest::prelude::*;
use tcp_gate::classify::{cmdline, CheckReport, Classifier};
use tcp_spec::{Decision, Policy};

use Decision::{Approve as A, Caution as W, Reject as R, RequireApproval as Q};

fn rank(d: Decision) -> u8 {
    match d {
        Decision::Approve => 0,
        Decision::Caution => 1,
        Decision::RequireApproval => 2,
        Decision::Reject => 3,
    }
}

fn check(c: &Classifier, line: &str) -> CheckReport {
    c.check(line, None, Policy::default())
}

/// `dangerous`: decided at least this strictly. `harmless`: decided exactly so.
fn class(dangerous: &[(&str, Decision)], harmless: &[(&str, Decision)]) {
    let c = Classifier::builtin();
    let mut wrong = Vec::new();
    for (line, want) in dangerous {
        let r = check(&c, line);
        if rank(r.decision_value) < rank(*want) {
            wrong.push(format!(
                "dangerous {line:?}: want at least {want:?}, got {} {} ({})",
                r.risk,
                r.decision,
                r.reasons.join(" | ")
            ));
        }
    }
    for (line, want) in harmless {
        let r = check(&c, line);
        if r.decision_value != *want {
            wrong.push(format!(
                "harmless {line:?}: want {want:?}, got {} {} ({})",
                r.risk,
                r.decision,
                r.reasons.join(" | ")
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn awk_programs() {
    class(
        &[
            (r#"awk 'BEGIN{system("rm -rf /")}'"#, R),
            (r#"mawk 'BEGIN{system("rm -rf /")}'"#, R),
            (r#"gawk 'BEGIN { system("rm -rf /") }'"#, R),
            (r#"awk '{print > "/etc/passwd"}' f"#, R),
            (r#"awk '{print | "sh"}' f"#, Q),
            (r#"awk 'BEGIN{system("id")}'"#, Q),
            (r#"gawk 'BEGIN{ "id" | getline x }'"#, Q),
        ],
        &[
            (r"awk '{print $1}' file", A),
            (r#"awk '{print > "out.txt"}' f"#, A),
            (r"awk -F: '{print $1}' /etc/passwd", A),
        ],
    );
}

#[test]
fn perl_programs() {
    class(
        &[
            (r#"perl -e 'system("rm -rf /")'"#, R),
            (r#"perl -e 'exec "rm", "-rf", "/"'"#, R),
            (r"perl -e '`rm -rf /`'", R),
            (r"perl -e 'qx(rm -rf /)'", R),
            (r#"perl -e 'open(F, "|sh")'"#, Q),
            (r#"perl -E 'system "id"'"#, Q),
        ],
        &[(r"perl -ne 'print if /x/' f", W)],
    );
}

#[test]
fn python_programs() {
    class(
        &[
            (r#"python3 -c 'import os; os.system("rm -rf /")'"#, R),
            (
                r#"python3 -c 'import subprocess; subprocess.run(["rm","-rf","/"])'"#,
                R,
            ),
            (r#"python3 -c 'import os; os.execvp("sh", ["sh"])'"#, Q),
            (r#"python3 -c 'import pty; pty.spawn("/bin/sh")'"#, Q),
            (r#"python -c 'import os; os.system("id")'"#, Q),
        ],
        &[(r"python3 -c 'print(1)'", W)],
    );
}

#[test]
fn ruby_programs() {
    class(
        &[
            (r#"ruby -e 'system("rm -rf /")'"#, R),
            (r"ruby -e '%x(rm -rf /)'", R),
            (r"ruby -e '`id`'", Q),
            (r#"ruby -e 'exec "id"'"#, Q),
            (r#"ruby -e 'spawn "id"'"#, Q),
        ],
        &[(r"ruby -e 'puts 1'", W)],
    );
}

#[test]
fn node_programs() {
    class(
        &[
            (
                r#"node -e 'require("child_process").execSync("rm -rf /")'"#,
                R,
            ),
            (r#"node --eval 'require("child_process").exec("id")'"#, Q),
        ],
        &[(r"node -e 'console.log(1)'", W)],
    );
}

#[test]
fn php_programs() {
    class(
        &[
            (r#"php -r 'system("rm -rf /");'"#, R),
            (r#"php -r 'passthru("id");'"#, Q),
            (r#"php -r 'echo shell_exec("id");'"#, Q),
            (r"php -r 'echo `id`;'", Q),
        ],
        &[(r"php -r 'echo 1;'", W)],
    );
}

#[test]
fn here_strings_feed_the_command() {
    class(
        &[
            ("bash <<< 'rm -rf /'", R),
            ("sh <<<'rm -rf /'", R),
            ("bash <<< \"$(rm -rf /)\"", R),
            (r#"python3 <<< 'import os; os.system("rm -rf /")'"#, R),
        ],
        &[
            // Data for a program that does not run it.
            ("cat <<< 'rm -rf /'", A),
            ("grep x <<< 'rm -rf /'", A),
            // A shell running a harmless command is as harmless as the command.
            ("sh <<< 'id'", A),
        ],
    );
}

#[test]
fn here_documents_feed_the_command() {
    class(
        &[
            ("sh <<EOF\nrm -rf /\nEOF", R),
            ("bash <<'EOF'\nrm -rf /\nEOF", R),
            ("bash <<-EOF\n\trm -rf /\n\tEOF", R),
            ("python3 - <<EOF\nimport os\nos.system('rm -rf /')\nEOF", R),
            // An unquoted document is expanded: its substitutions run.
            ("cat <<EOF\n$(rm -rf /)\nEOF", R),
            ("cat <<EOF\n`rm -rf /`\nEOF", R),
        ],
        &[
            ("cat <<EOF\nrm -rf /\nEOF", A),
            // Quoted: not expanded, so the substitution is only text.
            ("cat <<'EOF'\n$(rm -rf /)\nEOF", A),
            ("cat <<EOF > notes.txt\nhello\nEOF", A),
        ],
    );
}

#[test]
fn git_config_commands() {
    class(
        &[
            ("git -c core.pager='rm -rf /' log", R),
            ("git -c core.fsmonitor='rm -rf ~' status", R),
            ("git -c alias.x='!rm -rf /' x", R),
            ("git -c core.sshCommand='rm -rf /' fetch", R),
            ("git -c diff.external=evil diff", Q),
        ],
        &[
            ("git -c color.ui=always log", A),
            ("git -c user.name=x commit -m wip", A),
            // The configured command is classified: a harmless one stays harmless.
            ("git -c core.sshCommand='sh -c id' fetch", A),
        ],
    );
}

#[test]
fn tar_commands() {
    class(
        &[
            ("tar --to-command='rm -rf /' -xf a.tar", R),
            (
                "tar -cf a.tar --checkpoint=1 --checkpoint-action=exec='rm -rf /' dir",
                R,
            ),
            ("tar --use-compress-program='sh -c id' -cf a.tar dir", Q),
        ],
        &[("tar -czf a.tgz dir", A), ("tar -tzf a.tgz", A)],
    );
}

#[test]
fn rsync_remote_shell() {
    class(
        &[
            ("rsync --rsh='rm -rf /' a host:b", R),
            ("rsync -e 'rm -rf /' a host:b", R),
        ],
        &[
            ("rsync -a src/ dst/", W),
            // The remote shell is classified: a harmless one stays at rsync's level.
            ("rsync -e 'sh -c id' a host:b", W),
        ],
    );
}

#[test]
fn ssh_remote_command() {
    class(
        &[
            ("ssh host 'rm -rf /'", R),
            ("ssh host rm -rf /", R),
            ("ssh -p 22 user@host 'rm -rf /'", R),
        ],
        &[("ssh host", Q), ("ssh host uptime", Q)],
    );
}

#[test]
fn watch_runs_its_command() {
    class(
        &[("watch -n 1 'rm -rf /'", R), ("watch rm -rf /", R)],
        &[("watch -n 1 ls", A)],
    );
}

#[test]
fn busybox_applets() {
    class(
        &[("busybox rm -rf /", R), ("busybox sh -c 'rm -rf /'", R)],
        &[],
    );
}

#[test]
fn moving_system_directories() {
    class(
        &[
            ("mv /etc /tmp/x", R),
            ("mv /usr/bin /tmp/x", R),
            ("mv /usr /tmp/x", R),
            ("mv /etc/ssl /tmp/x", R),
            ("rename 's/a/b/' /etc", R),
        ],
        &[("mv a b", W)],
    );
}

#[test]
fn cloud_account_and_project_deletion() {
    class(
        &[
            ("gcloud projects delete my-proj", R),
            ("aws organizations close-account --account-id 1", R),
            ("aws s3 rb s3://b --force", R),
            ("az group delete -n rg", R),
            ("gh repo delete owner/repo --yes", R),
            ("kubectl delete namespace prod", R),
            ("terraform destroy -auto-approve", R),
        ],
        &[("gh repo view", W)],
    );
}

#[test]
fn wrappers_still_unwrap() {
    class(
        &[
            (r"find . -exec rm -rf / \;", R),
            (r"find . -execdir sh -c 'rm -rf /' \;", R),
            (r"find . -ok rm -rf / \;", R),
            ("xargs rm -rf /", R),
            ("xargs sh -c 'rm -rf /'", R),
            ("env rm -rf /", R),
            ("env -i sh -c 'rm -rf /'", R),
            ("timeout 5 rm -rf /", R),
            ("nice rm -rf /", R),
            ("nohup rm -rf /", R),
            ("sudo rm -rf /", R),
            ("doas rm -rf /", R),
        ],
        &[("find . -name '*.rs'", A)],
    );
}

#[test]
fn ansi_c_quoting_is_decoded() {
    class(
        &[
            (r"$'\x72\x6d' -rf /", R),
            (r"$'\162\155' -rf /", R),
            (r"$'\u0072m' -rf /", R),
            (r"$'\U00000072'm -rf /", R),
            (r"r$'m' -rf /", R),
            (r"rm $'-rf' $'\x2f'", R),
            (r"sh -c $'rm\x20-rf\x20/'", R),
            (r#"$"rm" -rf /"#, R),
        ],
        &[
            (r"echo $'a\tb'", A),
            (r"$'\x6c\x73' -l", A),
            (r#"echo $"hello""#, A),
        ],
    );
}

// --- the lexer and `check` never panic; `$'…'` of plain text is that text ---

/// Lines built from the characters the lexer treats specially.
fn shellish() -> impl Strategy<Value = String> {
    proptest::string::string_regex(r#"([a-z/~.\-=0-9]|[ \t\n]|[$'"\\`(){}<>|&;#!*?\[\]]|<<|<<<|<<-|\$'|\$"|\$\(|EOF|é|\x00){0,60}"#)
        .expect("valid regex")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let line = String::from_utf8_lossy(&bytes);
        let _ = cmdline::parse(&line);
        let _ = cmdline::decode_ansi_c(&line);
        let c = Classifier::builtin();
        let r = c.check(&line, None, Policy::default());
        prop_assert!(!r.reasons.is_empty());
    }

    #[test]
    fn never_panics_on_shell_like_text(line in shellish()) {
        let _ = cmdline::parse(&line);
        let _ = cmdline::decode_ansi_c(&line);
        let c = Classifier::builtin();
        let r = c.check(&line, None, Policy::default());
        prop_assert_eq!(r.score, r.risk_level.score());
        // Wrapped in a shell it is still checked, and still no panic.
        let _ = c.check(&format!("sh -c '{line}'"), None, Policy::default());
        let _ = c.check(&format!("bash <<EOF\n{line}\nEOF"), None, Policy::default());
    }

    #[test]
    fn ansi_c_of_plain_printable_ascii_is_itself(s in "[ -&(-\\[\\]-~]{1,40}") {
        // Printable ASCII without backslash or single quote.
        prop_assert_eq!(cmdline::decode_ansi_c(&s), s.clone());
        let p = cmdline::parse(&format!("echo $'{s}'")).unwrap();
        prop_assert_eq!(p.commands.len(), 1);
        prop_assert_eq!(&p.commands[0].words, &vec!["echo".to_string(), s]);
    }
}
