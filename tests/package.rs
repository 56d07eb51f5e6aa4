//! The Debian package. `generate-docs` (what the package's man pages and completions
//! are made from) is checked on every run; the whole package — build, contents,
//! lintian, `apt install`, owners and modes, `idverifd validate` and `idverifd run`
//! as the `idverifd` user up to ready, `apt purge` — is `scripts/package --check`,
//! which needs root and apt and costs a release build, so it runs only with
//! IDVERIFD_TEST_PACKAGE=1.

use std::path::Path;
use std::process::Command;

mod common;

fn idverifd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_idverifd"))
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
}

#[test]
fn generate_docs_writes_a_man_page_per_command_and_completions_for_three_shells() {
    let dir = common::temp_dir("generate-docs");
    let out = idverifd().arg("generate-docs").arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let mut pages: Vec<String> = std::fs::read_dir(dir.join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    // Every command an operator types has its page; the hidden packaging helper has none.
    for page in [
        "idverifd.1",
        "idverifd-run.1",
        "idverifd-validate.1",
        "idverifd-cameras.1",
        "idverifd-face-detect.1",
        "idverifd-face-compare.1",
        "idverifd-document-read.1",
        "idverifd-liveness-scan.1",
        "idverifd-verify.1",
        "idverifd-hash-password.1",
        "idverifd-keys-show.1",
        "idverifd-keys-rotate.1",
    ] {
        assert!(pages.iter().any(|p| p == page), "{page} missing from {pages:?}");
    }
    assert!(!pages.iter().any(|p| p.contains("generate-docs")), "{pages:?}");

    let main_page = std::fs::read_to_string(dir.join("man/idverifd.1")).unwrap();
    assert!(main_page.contains("idverifd\\-validate(1)") || main_page.contains("idverifd-validate(1)"), "{main_page}");
    assert!(main_page.contains("/etc/idverifd/idverifd.toml") && main_page.contains("IDVERIFD_LOG_FORMAT"));
    let compare = std::fs::read_to_string(dir.join("man/idverifd-face-compare.1")).unwrap();
    assert!(compare.contains("\\-\\-threshold"), "{compare}");

    // man(1) renders each page without a warning (lintian runs the same check).
    if on_path("man") {
        for page in &pages {
            let out = Command::new("man")
                .args(["--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z"])
                .arg(dir.join("man").join(page))
                .env("MANROFFSEQ", "")
                .env("MANWIDTH", "80")
                .output()
                .unwrap();
            let warnings = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success() && warnings.trim().is_empty(), "{page}: {warnings}");
        }
    } else {
        eprintln!("man not installed: page rendering not checked");
    }

    let bash = dir.join("completions/idverifd.bash");
    let bash_text = std::fs::read_to_string(&bash).unwrap();
    assert!(bash_text.contains("complete -F _idverifd") && bash_text.contains("--threshold"), "{bash_text}");
    assert!(Command::new("bash").arg("-n").arg(&bash).status().unwrap().success(), "bash completion does not parse");
    let zsh = std::fs::read_to_string(dir.join("completions/_idverifd")).unwrap();
    assert!(zsh.starts_with("#compdef idverifd"), "{zsh}");
    let fish = std::fs::read_to_string(dir.join("completions/idverifd.fish")).unwrap();
    assert!(fish.contains("complete -c idverifd") && fish.contains("__fish_idverifd_using_subcommand validate"), "{fish}");
    for (shell, file) in [("zsh", "_idverifd"), ("fish", "idverifd.fish")] {
        if on_path(shell) {
            let flag = if shell == "zsh" { "-n" } else { "--no-execute" };
            let ok = Command::new(shell).arg(flag).arg(dir.join("completions").join(file)).status().unwrap().success();
            assert!(ok, "{shell} completion does not parse");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Build, lint, install, run and purge the .deb on this machine.
#[test]
fn package_installs_validates_reaches_ready_and_purges() {
    if std::env::var("IDVERIFD_TEST_PACKAGE").as_deref() != Ok("1") {
        eprintln!("skipped: set IDVERIFD_TEST_PACKAGE=1 to build and install the .deb (a release build: minutes)");
        return;
    }
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: installing a package needs root");
        return;
    }
    if !(on_path("apt-get") && on_path("dpkg")) {
        eprintln!("skipped: no apt-get/dpkg (not Debian)");
        return;
    }
    let script = common::repo().join("scripts/package");
    assert!(Path::new(&script).exists());
    let mut command = Command::new(&script);
    command.arg("--check").env("IDVERIFD_PACKAGE_SKIP_SETUP", "1"); // scripts/test has just run scripts/setup
    // What cargo sets for this test would reach the release build's build scripts
    // (ring reruns when CARGO_PKG_NAME or CARGO_MANIFEST_DIR differ) and rebuild
    // crates that a release build outside the tests has already built.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_BIN_", "CARGO_CRATE_", "CARGO_PRIMARY_", "CARGO_TARGET_TMPDIR", "OUT_DIR"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
        {
            command.env_remove(name.as_ref());
        }
    }
    let status = command.status().expect("run scripts/package");
    assert!(status.success(), "scripts/package --check failed: its log is above");
}
