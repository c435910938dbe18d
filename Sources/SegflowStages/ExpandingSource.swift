import Foundation
import SegflowCore
import SegflowGraph

/// A source whose items are made from each file it lists, one file at a time: a video becomes its
/// keyframes. `enumerate` lists the files (cheaply); the engine keys each by its CONTENT and the
/// stage's params, keeps what `expand` made of it in the index, and calls `expand` only for files
/// it has no result for. So a renamed file is found by content and not expanded again (its items take
/// the new name), and a changed file re-expands only itself.
public protocol ExpandingSource: SourceStage {
    /// Makes the items of one listed file in `directory`: files `<port>/<part>.<ext>` for the stage's
    /// output ports; the engine names each item `<stem of the listed file>_<part>`. Returns, per part,
    /// where in the file it came from (kept for `segflow lineage`), e.g. `{"frame": 12, "seconds": 0.4}`.
    /// A file that cannot be read is a user error naming it.
    func expand(_ file: SourceFile, params: [String: CanonicalValue], into directory: String,
                isCancelled: @Sendable () -> Bool) throws -> [String: CanonicalValue]
}
