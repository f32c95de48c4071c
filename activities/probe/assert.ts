/**
 * The one `assert` default of every probe (probe.http, probe.prometheus, probe.dns,
 * probe.steady-state): a probe whose check fails fails its step (not retried). With
 * `assert: false` it only reports, and the outputs say what failed (`ok`, `pass` or `healthy`
 * false), for a later step to decide.
 */
export const PROBE_ASSERT_DEFAULT = true;
