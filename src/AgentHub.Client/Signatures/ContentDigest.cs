using System.Security.Cryptography;

namespace AgentHub.Client.Signatures;

/// <summary>
/// The <c>Content-Digest</c> field (RFC 9530): a Structured Field Dictionary of algorithm → Byte Sequence, e.g.
/// <c>sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:</c>. Only <c>sha-256</c> and <c>sha-512</c> are recognised.
/// </summary>
public static class ContentDigest
{
    /// <summary>The field name.</summary>
    public const string FieldName = "Content-Digest";

    /// <summary>The <c>sha-256</c> algorithm key.</summary>
    public const string Sha256 = "sha-256";

    /// <summary>The <c>sha-512</c> algorithm key.</summary>
    public const string Sha512 = "sha-512";

    /// <summary>The field value for <paramref name="body"/>, e.g. <c>sha-256=:…:</c>.</summary>
    /// <param name="body">The message content, as sent (after any content coding).</param>
    /// <param name="algorithm"><c>sha-256</c> (default) or <c>sha-512</c>.</param>
    public static string Compute(ReadOnlySpan<byte> body, string algorithm = Sha256)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        Span<byte> hash = stackalloc byte[SHA512.HashSizeInBytes];
        var length = Hash(algorithm, body, hash);
        if (length < 0)
        {
            throw new ArgumentException($"Unsupported Content-Digest algorithm '{algorithm}'; use '{Sha256}' or '{Sha512}'.", nameof(algorithm));
        }

        return Format(algorithm, hash[..length]);
    }

    /// <summary>The <c>sha-256</c> field value for content whose SHA-256 is already known, e.g. <c>sha-256=:…:</c>.</summary>
    /// <param name="sha256">The 32-byte SHA-256 of the message content, as sent.</param>
    public static string FromSha256(ReadOnlySpan<byte> sha256)
    {
        if (sha256.Length != SHA256.HashSizeInBytes)
        {
            throw new ArgumentException($"A SHA-256 digest is {SHA256.HashSizeInBytes} bytes, not {sha256.Length}.", nameof(sha256));
        }

        return Format(Sha256, sha256);
    }

    private static string Format(string algorithm, ReadOnlySpan<byte> digest) => algorithm + "=:" + Convert.ToBase64String(digest) + ":";

    /// <summary>
    /// Checks a <c>Content-Digest</c> value against <paramref name="body"/>: at least one of sha-256 and sha-512 must be
    /// present and every one present must match (compared in fixed time); other algorithms are ignored.
    /// </summary>
    /// <param name="headerValue">The combined field value, or null when the message has none.</param>
    /// <param name="body">The message content as received.</param>
    public static ContentDigestResult Verify(string? headerValue, ReadOnlySpan<byte> body)
    {
        if (string.IsNullOrWhiteSpace(headerValue))
        {
            return ContentDigestResult.Fail(ContentDigestFailure.Missing, "The message has no Content-Digest field.");
        }

        SfDictionary dictionary;
        try
        {
            dictionary = StructuredFields.ParseDictionary(headerValue, FieldName);
        }
        catch (StructuredFieldException e)
        {
            return ContentDigestResult.Fail(ContentDigestFailure.Malformed, e.Message);
        }

        Span<byte> hash = stackalloc byte[SHA512.HashSizeInBytes];
        var verified = new List<string>(2);
        foreach (var (algorithm, member) in dictionary)
        {
            var length = Hash(algorithm, body, hash);
            if (length < 0)
            {
                continue;
            }

            if (member is not SfItem { Value.Kind: SfBareItemKind.ByteSequence } item)
            {
                return ContentDigestResult.Fail(ContentDigestFailure.Malformed,
                    $"Content-Digest: the value of '{algorithm}' must be a Byte Sequence (:base64:).");
            }

            if (!CryptographicOperations.FixedTimeEquals(item.Value.AsByteSequence().Span, hash[..length]))
            {
                return ContentDigestResult.Fail(ContentDigestFailure.Mismatch,
                    $"Content-Digest: the {algorithm} digest does not match the body.");
            }

            verified.Add(algorithm);
        }

        if (verified.Count == 0)
        {
            var found = dictionary.Count == 0 ? "none" : string.Join(", ", dictionary.Keys);
            return ContentDigestResult.Fail(ContentDigestFailure.NoKnownAlgorithm,
                $"Content-Digest has no {Sha256} or {Sha512} digest (found: {found}).");
        }

        return new ContentDigestResult(ContentDigestFailure.None, $"Content-Digest matches ({string.Join(", ", verified)}).", verified);
    }

    private static int Hash(string algorithm, ReadOnlySpan<byte> body, Span<byte> destination) => algorithm switch
    {
        Sha256 => SHA256.HashData(body, destination),
        Sha512 => SHA512.HashData(body, destination),
        _ => -1,
    };
}

/// <summary>Why a <c>Content-Digest</c> check failed.</summary>
public enum ContentDigestFailure
{
    /// <summary>It did not fail.</summary>
    None,

    /// <summary>The message has no Content-Digest field.</summary>
    Missing,

    /// <summary>The field is not a valid Structured Field Dictionary of Byte Sequences.</summary>
    Malformed,

    /// <summary>Neither sha-256 nor sha-512 is present.</summary>
    NoKnownAlgorithm,

    /// <summary>A digest does not match the body.</summary>
    Mismatch,
}

/// <summary>The outcome of <see cref="ContentDigest.Verify"/>.</summary>
/// <param name="Failure">Why it failed, or <see cref="ContentDigestFailure.None"/>.</param>
/// <param name="Message">What was checked or what was wrong, for logs and error answers.</param>
/// <param name="Algorithms">The algorithms that matched (on success).</param>
public sealed record ContentDigestResult(ContentDigestFailure Failure, string Message, IReadOnlyList<string> Algorithms)
{
    /// <summary>Every recognised digest matched.</summary>
    public bool Success => Failure == ContentDigestFailure.None;

    internal static ContentDigestResult Fail(ContentDigestFailure failure, string message) => new(failure, message, []);
}
