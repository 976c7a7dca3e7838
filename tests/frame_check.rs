//! The claim that lets every config write go without `nutcracker -t` (DESIGN.md §10):
//! once nutcracker accepts the frame (the pool the flags make, or the operator's
//! template), it accepts every config tpc makes from it, whatever master names and
//! addresses tpc's own validation lets through. Names and hosts are drawn from a wider
//! alphabet than tpc accepts (spaces, `:`, quotes, `#`, non-ASCII...) and kept only when
//! tpc's validators take them, as a sentinel's would be; the judge is the real
//! `nutcracker -t`.

mod nutcracker_verdict;
mod proptest_config;

use std::collections::BTreeMap;

use nutcracker_verdict::nutcracker_verdict;
use proptest::prelude::*;
use tpc::core::event::is_valid_name;
use tpc::core::layout::Layout;
use tpc::core::render::Renderer;
use tpc::core::template::Template;
use tpc::core::Addr;
use tpc::shell::cli::{self, Command as Cli};

/// Flags of the pool, each as the original's users write them; a case takes any subset.
const FLAGS: &[&str] = &[
    "-name cache",
    "-ip 127.0.0.1 -port 22121",
    "-hash murmur",
    "-hash_tag {}",
    "-distribution modula",
    "-timeout 1000",
    "-backlog 1024",
    "-redis_auth s3cret",
    "-redis_db 5",
    "-client_connections 100",
    "-server_connections 4",
    "-preconnect",
    "-auto_eject_hosts=false",
    "-server_retry_timeout 500",
    "-server_failure_limit 10",
    "-compat 0.1.8",
    "-compat 0.1.5",
];

/// An operator's file with several pools, comments, quoting and weights.
const TEMPLATE: &str = include_str!("templates/sites.yml");

/// A string of up to `max` characters, mostly those tpc accepts, some it must refuse.
fn word(max: usize) -> impl Strategy<Value = String> {
    let wide = "[a-zA-Z0-9._:-]|[ #'\"{}\\[\\],&*!|>%@`\t]|é|\u{2028}";
    proptest::collection::vec(prop_oneof![9 => "[a-zA-Z0-9._:-]", 1 => wide], 1..=max)
        .prop_map(|chars| chars.concat())
}

/// A master name tpc accepts.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => word(24),
        1 => (1..=255usize).prop_map(|n| "n".repeat(n)),
    ]
    .prop_filter("a name tpc refuses", |n| is_valid_name(n))
}

/// An address tpc accepts from a sentinel's host and port words.
fn addr() -> impl Strategy<Value = Addr> {
    let host = prop_oneof![
        3 => word(40),
        1 => "(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}",
        1 => "[0-9a-f:]{2,39}",
    ];
    let port = prop_oneof![
        8 => (1..=65535u32).prop_map(|p| p.to_string()),
        1 => "[0-9]{1,6}|-1|0x1F|\\+1| 1",
    ];
    (host, port).prop_filter_map("an address tpc refuses", |(h, p)| {
        Addr::parse_parts(&h, &p).ok()
    })
}

proptest! {
    #![proptest_config(proptest_config::config(256, Some("proptest-regressions/frame_check.txt")))]

    #[test]
    fn a_config_of_an_accepted_pool_and_validated_servers_is_accepted(
        flags in proptest::sample::subsequence(FLAGS, 0..=FLAGS.len()),
        masters in proptest::collection::btree_map(name(), addr(), 1..=40),
    ) {
        let args = shell_words::split(&format!("-sentinels :26379 {}", flags.join(" "))).unwrap();
        let Ok(Cli::Run(options)) = cli::parse(&args) else {
            panic!("{flags:?} did not parse");
        };
        let frame = Layout::new(&options.core).frame().expect("generate mode has a frame");
        prop_assert_eq!(nutcracker_verdict(&frame), Ok(()), "the frame:\n{}", frame);
        let text = Renderer::new(&options.core.pool).render(&masters);
        prop_assert_eq!(nutcracker_verdict(&text), Ok(()), "{}", text);
    }

    #[test]
    fn an_accepted_template_with_validated_addresses_is_accepted(
        addrs in proptest::collection::vec(addr(), 64),
    ) {
        let template = Template::parse(TEMPLATE).unwrap();
        prop_assert!(template.holes().len() <= addrs.len());
        let text = template.fill(|i, _| addrs.get(i));
        prop_assert_eq!(nutcracker_verdict(&text), Ok(()), "{}", text);
    }
}

/// The frame is what the daemon has nutcracker check, so it must be what the rendering
/// of any masters begins with: the same pool, the same keys, in the same order.
#[test]
fn the_frame_is_the_pool_every_config_is_rendered_with() {
    for flags in ["", "-compat 0.1.8", "-redis_auth s3cret -hash_tag {}"] {
        let args = shell_words::split(&format!("-sentinels :26379 {flags}")).unwrap();
        let Ok(Cli::Run(options)) = cli::parse(&args) else {
            panic!("{flags} did not parse");
        };
        let frame = Layout::new(&options.core).frame().unwrap();
        let addr = Addr::parse("10.0.0.1:6379").unwrap();
        let masters: BTreeMap<String, Addr> = [("a".to_string(), addr)].into();
        let text = Renderer::new(&options.core.pool).render(&masters);
        let head = |t: &str| t[..t.find("  servers:\n").unwrap()].to_string();
        assert_eq!(head(&frame), head(&text), "{flags}");
        assert!(nutcracker_verdict(&frame).is_ok(), "{flags}: {frame}");
    }
}
