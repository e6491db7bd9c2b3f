package classify

import "github.com/engram-kb/engram"

// class indexes the per-class score arrays; unknown is not scored, it is
// what is left when no class wins.
type class int

const (
	work class = iota
	personal
	spam
	numClasses
)

var classNames = [numClasses]engram.Classification{engram.ClassWork, engram.ClassPersonal, engram.ClassSpam}

// Weights of the rules that are not phrases; doc.go explains them.
const (
	weightTenantDomain = 5.0
	weightSpamDomain   = 7.0
	weightWebmail      = 1.5
	weightWorkSource   = 2.0

	weightCapsSubject  = 2.0
	weightPadSubject   = 2.0
	weightReply        = -1.0
	weightBangsSubject = 1.5
	weightMoneySubject = 1.0
	weightDollars      = 3.0
	weightBangRun      = 1.5
	weightManyBangs    = 1.0
	weightMoneyBody    = 1.0
	weightShouting     = 1.5
	weightHTMLHeavy    = 1.5
)

// phraseGroup is a list of phrases that all add weight to class when they
// occur. Phrases are written as plain text; they are split into words the
// same way documents are, so "opt-in" matches "opt in" and "opt-in".
type phraseGroup struct {
	class     class
	weight    float64
	titleOnly bool
	// limit caps the points, counted without sign, that the whole group
	// gives one document (0: no cap). Common words pile up in any long
	// text, so on their own they may tip a verdict but never carry one.
	limit   float64
	phrases []string
}

// phraseGroups is every phrase rule. A phrase is listed once. A longer
// phrase that contains a shorter one ("100% free", "free") adds to it on
// purpose: it is the more specific evidence.
var phraseGroups = []phraseGroup{
	// Close to unmistakable: ordinary mail almost never says these.
	{spam, 3, false, 0, []string{
		"viagra", "cialis", "no prescription", "online pharmacy", "lottery",
		"million dollars", "casino", "100% free", "act now", "dear friend",
		"work from home", "weight loss", "lose weight", "you have been selected",
		"you have won", "you've won", "claim your prize", "hot singles",
		"this is not spam", "this is not a spam", "not unsolicited",
		"wish to be removed", "remove in the subject",
		"removal instructions", "extra income", "financial freedom",
		"make money fast", "risk free", "satisfaction guaranteed",
		"money back guarantee", "100% guaranteed", "bulk email",
		"email marketing", "multi level marketing", "be your own boss",
		"home based business", "penis", "enlargement", "next of kin",
	}},
	// Typical of selling and scams, but also seen in honest newsletters.
	{spam, 2, false, 0, []string{
		"click here", "click below", "to be removed", "limited time",
		"order now", "order today", "call now", "apply now", "buy now",
		"special promotion", "free gift", "no obligation", "no cost",
		"congratulations", "refinance", "mortgage", "lowest rates",
		"low rates", "lenders", "debt", "business opportunity",
		"investment opportunity", "no investment", "earn money", "make money",
		"opt-in", "opt out", "you are receiving this", "dear sir",
		"dear madam", "wire transfer", "bank account", "business proposal",
		"strictly confidential", "beneficiary", "as seen on", "miracle",
		"toll free", "mlm", "lowest price", "best price", "save up to",
		"adult", "xxx", "sexy",
	}},
	// Ordinary mail uses these too; they only add up.
	{spam, 1, false, 2, []string{
		"unsubscribe", "free", "offer", "guarantee", "guaranteed", "cash",
		"income", "profit", "prize", "bonus", "instant", "discount", "sale",
		"dollars", "million", "billion", "limited", "remove", "removed",
		"marketing", "100%", "money", "cheap", "amazing", "winner",
		"credit card", "free trial", "insurance", "investment", "affiliate",
	}},
	// Against spam: a newsletter or list the reader subscribed to names
	// itself, its owner and the subscription; spam hides all three.
	// Modern spam copies such footers too, hence the limit.
	{spam, -1.5, false, 3, []string{
		"newsletter", "all rights reserved", "your subscription",
		"privacy policy", "subscribed to", "archive",
	}},
	// Spam subjects sell; a work subject rarely says free or save.
	{spam, 1.5, true, 0, []string{"free", "save", "win", "cash"}},

	{work, 2, false, 0, []string{
		"pull request", "merge request", "standup", "stand-up", "sprint",
		"roadmap", "postmortem", "post-mortem", "action items", "code review",
		"on-call", "purchase order", "okr", "kpi", "jira",
	}},
	{work, 1, false, 3, []string{
		"meeting", "deadline", "project", "release", "invoice", "customer",
		"client", "deploy", "deployment", "incident", "outage", "quarterly",
		"q1", "q2", "q3", "q4", "agenda", "milestone", "stakeholder",
		"status update", "status report", "ticket", "backlog", "retro",
		"retrospective", "onboarding", "performance review", "budget",
		"forecast", "contract", "proposal", "conference call", "presentation",
		"slides", "colleague", "manager", "office", "repository", "repo",
		"staging", "production", "hotfix", "bug", "changelog",
		"specification", "requirements", "revenue", "vendor", "team",
		"patch", "commit", "pr",
	}},

	{personal, 2, false, 0, []string{
		"birthday", "wedding", "love you", "miss you", "xoxo", "honeymoon",
		"family reunion", "weekend plans",
	}},
	{personal, 1, false, 3, []string{
		"family", "dinner", "vacation", "mom", "mum", "dad", "mommy", "daddy",
		"anniversary", "weekend", "kids", "son", "daughter", "wife",
		"husband", "girlfriend", "boyfriend", "grandma", "grandpa",
		"grandmother", "grandfather", "sister", "brother", "cousin", "aunt",
		"uncle", "niece", "nephew", "baby", "hugs", "bbq", "barbecue",
		"picnic", "brunch", "movie", "thanksgiving", "christmas",
		"graduation", "see you soon", "dentist", "recipe",
	}},
}

// workSources are source types that only carry team work.
var workSources = map[string]bool{
	"slack": true, "github": true, "gitlab": true, "bitbucket": true,
	"jira": true, "confluence": true, "drive": true, "gdrive": true,
	"google_drive": true, "notion": true, "linear": true, "teams": true,
	"sharepoint": true, "onedrive": true, "zendesk": true, "asana": true,
	"trello": true, "salesforce": true, "hubspot": true,
}

// webmailDomains are free mail providers, matched exactly.
var webmailDomains = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "icloud.com": true,
	"me.com": true, "mac.com": true, "aol.com": true, "aim.com": true,
	"proton.me": true, "protonmail.com": true, "protonmail.ch": true,
	"pm.me": true, "msn.com": true, "mail.com": true, "email.com": true,
	"ymail.com": true, "rocketmail.com": true, "web.de": true,
	"t-online.de": true, "mail.ru": true, "inbox.ru": true, "bk.ru": true,
	"list.ru": true, "qq.com": true, "163.com": true, "126.com": true,
	"sina.com": true, "naver.com": true, "hanmail.net": true,
	"fastmail.com": true, "fastmail.fm": true, "tutanota.com": true,
	"tuta.io": true, "hey.com": true, "comcast.net": true,
	"verizon.net": true, "att.net": true, "sbcglobal.net": true,
	"bellsouth.net": true, "cox.net": true, "earthlink.net": true,
	"juno.com": true, "netscape.net": true, "excite.com": true,
	"lycos.com": true, "rediffmail.com": true, "orange.fr": true,
	"wanadoo.fr": true, "free.fr": true, "laposte.net": true,
	"libero.it": true, "virgilio.it": true, "seznam.cz": true,
	"wp.pl": true, "o2.pl": true, "interia.pl": true,
	"btinternet.com": true, "sky.com": true, "ntlworld.com": true,
	"shaw.ca": true, "rogers.com": true, "sympatico.ca": true,
	"bigpond.com": true, "uol.com.br": true, "bol.com.br": true,
}

// webmailBrands are providers with a domain per country (gmx.de,
// yahoo.co.uk, hotmail.fr): the brand followed by a public suffix.
var webmailBrands = map[string]bool{
	"gmx": true, "yahoo": true, "hotmail": true, "outlook": true,
	"live": true, "yandex": true, "aol": true,
}
