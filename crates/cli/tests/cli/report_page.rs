//! The report page as a user sees it, in a real browser: a tiny grid is
//! run, and headless Chromium renders `report/index.html` at 1400 and
//! 800 px. The test asserts on what the page shows (the header, the
//! verdict), that the page has no horizontal overflow, that every image
//! loads, and that every link and image points inside `report/`, so the
//! folder can be moved.
//!
//! Chromium is Debian's package: `cargo xtask test` installs it when it is
//! missing and it can (as root, with apt-get). Without a browser the test
//! says so and passes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{ok, EXE};

/// The browser, if one is installed.
fn browser() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let out = Command::new("which").arg(name).output().ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        })
}

/// What the harness page measures of the report in an iframe of `width` px.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Seen {
    h1: String,
    text: String,
    scroll_width: f64,
    client_width: f64,
    images: Vec<(String, bool)>,
    links: Vec<String>,
}

fn render(browser: &Path, page: &Path, width: u32, scratch: &Path) -> Seen {
    let harness = scratch.join(format!("harness-{width}.html"));
    let url = format!("file://{}", page.display());
    std::fs::write(
        &harness,
        format!(
            "<!doctype html><html><body style=\"margin:0\">\
             <iframe id=\"f\" src=\"{url}\" style=\"width:{width}px;height:900px;border:0\"></iframe>\
             <pre id=\"out\">pending</pre><script>\
             document.getElementById('f').addEventListener('load', () => {{\
               const d = document.getElementById('f').contentDocument;\
               const r = {{\
                 h1: d.querySelector('h1') ? d.querySelector('h1').innerText : '',\
                 text: d.body.innerText,\
                 scrollWidth: d.documentElement.scrollWidth,\
                 clientWidth: d.documentElement.clientWidth,\
                 images: [...d.images].map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0]),\
                 links: [...d.querySelectorAll('a')].map(a => a.getAttribute('href')),\
               }};\
               document.getElementById('out').textContent = 'RESULT' + JSON.stringify(r) + 'END';\
             }});</script></body></html>"
        ),
    )
    .unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--allow-file-access-from-files",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", harness.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find("RESULT").expect("the harness ran") + "RESULT".len();
    let end = dom[start..].find("END").expect("the harness finished") + start;
    // --dump-dom escapes the JSON as HTML text.
    let json = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

#[test]
fn the_report_page_reads_in_a_browser_at_two_widths() {
    let Some(browser) = browser() else {
        eprintln!(
            "note: no Chromium found (Debian: apt-get install chromium; `cargo xtask test` \
             installs it when it can); skipping the browser test"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap();
    let set = r#"set = ["dataset.n_samples=60", "dataset.n_timesteps=20", "train.batch_size=16", "model.encoder_size=8"]"#;
    std::fs::write(
        dir.join("tiny.toml"),
        format!(
            "name = \"tiny\"\ndescription = \"arneodo, a tiny check of the page\"\nepochs = 2\n\n\
             [[groups]]\ndatasets = [\"arneodo\"]\nmodels = [\"gru\", \"node\"]\nlatents = [3]\n\
             seeds = [0]\n{set}\n"
        ),
    )
    .unwrap();
    ok(Command::new(EXE)
        .current_dir(&dir)
        .args([
            "ablate",
            "--grid",
            "tiny.toml",
            "--out",
            "g",
            "--workers",
            "1",
        ])
        .output()
        .unwrap());
    let report = dir.join("g/tiny/report");
    let page = report.join("index.html");
    for width in [1400, 800] {
        let seen = render(&browser, &page, width, &dir);
        assert_eq!(seen.h1, "latentdyn report: tiny", "{width} px");
        for words in [
            "arneodo, a tiny check of the page",
            "What was run:",
            "Verdict:",
            "How to read this page",
            "What next",
        ] {
            assert!(
                seen.text.contains(words),
                "{width} px: no `{words}` on the page"
            );
        }
        assert!(
            seen.scroll_width <= seen.client_width + 1.0,
            "{width} px: the page is {} px wide in a {} px window",
            seen.scroll_width,
            seen.client_width
        );
        assert!(!seen.images.is_empty(), "{width} px: no figures");
        for (src, loaded) in &seen.images {
            assert!(loaded, "{width} px: image {src} did not load");
        }
        for target in seen.images.iter().map(|i| &i.0).chain(&seen.links) {
            let p = Path::new(target);
            assert!(
                p.is_relative() && !target.contains(".."),
                "{target} points outside report/"
            );
            assert!(
                report.join(p).is_file(),
                "{target} does not exist in report/"
            );
        }
        assert!(
            seen.links.iter().any(|l| l.ends_with(".svg")),
            "no [svg] link"
        );
    }
}
