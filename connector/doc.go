// Package connector is the home of engram's connector sources: one package
// per kind of source (folder, mail, …), each implementing engram.Source.
//
// Every source follows the same rules, so that the sync engine can treat
// them alike:
//   - items stream one at a time, in a stable order, and ctx is checked
//     between items;
//   - an item that cannot be read is reported through the fail callback with
//     a reason and skipped; only a source that cannot be read at all (its
//     root is gone) makes Items return an error;
//   - every string is valid UTF-8 without NUL characters, titles are never
//     empty and at most engram.MaxTitleLen characters, and content over
//     engram.MaxContentBytes is reported as a failure rather than cut, so
//     that nothing is imported half without the user knowing.
package connector
