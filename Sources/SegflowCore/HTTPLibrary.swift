import CCurlLoader

/// libcurl, which Foundation's URLSession speaks HTTP through, opened on first use (see CCurlLoader.h:
/// linked directly it would be loaded, with ~30 libraries it needs, at every start of segflow).
public enum HTTPLibrary {
    /// Opens libcurl now if it is not open yet; throws a user error naming the library and its package
    /// when it cannot be. Call before making a URLSession: without libcurl, URLSession cannot work at all.
    public static func requireLoaded() throws {
        if let reason = segflow_curl_load_error() {
            throw SegflowError.user(String(cString: reason), hint: "install libcurl (Debian: apt-get install libcurl4), or run without the HTTP stage or remote")
        }
    }
}
