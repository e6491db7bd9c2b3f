// Package classify holds engram's built-in classifier, Rules: a fixed,
// deterministic set of weighted rules that sorts documents into work,
// personal and spam without any network call or model.
//
// # Evidence
//
// Every rule that fires adds its weight to one class, once per document
// however often it fires. A negative weight is evidence against the class.
// The rules are:
//
//   - Sender domain. A domain the tenant lists in its settings (see below)
//     adds 5 to work or personal and 7 to spam; subdomains count, so
//     mail.acme.com is covered by acme.com. Otherwise a webmail domain
//     (gmail.com, yahoo.*, hotmail.*, outlook.*, icloud.com, aol.com,
//     proton.me, gmx.*, …) adds 1.5 to personal: people use these for
//     their own mail, but employees and spammers use them too, so it is
//     only a lean.
//   - Source type. Documents from team tools (slack, github, jira,
//     confluence, drive, …) add 2 to work; folder, mail and api say
//     nothing.
//
// Phrases are matched in the subject (Title) and body (Content) on whole
// words, case-insensitively; a single word also matches its plural in s.
// Text inside HTML tags, style sheets and scripts is not read. The tables
// are in rules.go:
//
//   - spam 3: close to unmistakable ("viagra", "100% free", "dear friend",
//     "act now", "lottery", "wish to be removed");
//   - spam 2: typical of selling and scams ("click here", "limited time",
//     "mortgage", "opt-in", "business proposal");
//   - spam 1: words ordinary mail uses too ("unsubscribe", "free",
//     "money", "million"), at most 2 together;
//   - spam 1.5 more for "free", "save", "win" or "cash" in the subject;
//   - spam −1.5 each, at most −3 together, for the marks of a newsletter
//     the reader subscribed to ("newsletter", "all rights reserved",
//     "your subscription", "privacy policy");
//   - work 2 ("pull request", "sprint", "roadmap", "postmortem") and
//     work 1 ("meeting", "deadline", "release", "invoice", "customer"),
//     the latter at most 3 together;
//   - personal 2 ("birthday", "wedding", "miss you") and personal 1
//     ("dinner", "vacation", "mom", "weekend"), the latter at most 3.
//
// The shape of the text is spam evidence:
//
//   - an all-caps subject: 2;
//   - a subject padded with a run of spaces, as bulk mailers do to make
//     each copy differ: 2;
//   - two or more '!' in the subject: 1.5;
//   - a money amount in the subject: 1;
//   - "$$$" in the body: 3;
//   - a run of "!!!": 1.5; ten or more '!': 1;
//   - two or more money amounts: 1;
//   - a body of at least 200 letters, 40% or more of them upper case: 1.5;
//   - a body with ten or more tags that is at least 40% markup: 1.5;
//   - a subject starting with "Re:", a reply in a conversation: −1.
//
// Only the first MaxContentBytes of the body are read.
//
// # Verdict
//
// The class with the most points wins when it has enough evidence (2
// points, or 4 for spam, because calling mail spam hides it) and leads the
// runner-up by at least 1 point. Its confidence grows from 0.5 towards
// 0.97, never reaching 1.0, which is kept for a person's decision, with
// the smaller of its lead and its excess over the evidence it needed
// (plus 1): a verdict that barely has enough evidence stays borderline
// however alone it is. Otherwise the verdict is unknown with a confidence
// below 0.5: weak or conflicting evidence is reported as such, not
// guessed. A result is borderline when its confidence is below
// engram.BorderlineConfidence or the runner-up has at least 60% of the
// winner's points.
//
// The reason names the strongest evidence of each class, winner first,
// in under 200 characters.
//
// # Settings
//
// A tenant tunes the sender rules in its settings JSON:
//
//	{"classifier": {"work_domains": ["acme.com"],
//	                "personal_domains": ["example-family.org"],
//	                "spam_domains": ["offers.example"]}}
//
// A top-level "work_domains" list is accepted too. A domain the tenant
// lists is never also counted as webmail. Other keys are ignored, so other
// parts of engram may keep their own settings alongside.
package classify
