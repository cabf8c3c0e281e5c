using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace AgentHub.Client.Signatures;

/// <summary>
/// Verifies RFC 9421 signatures (§3.2) and the requirements of <see cref="VerifyOptions"/>. Bad input never throws: it
/// yields a <see cref="SignatureVerification"/> that says what was wrong.
/// </summary>
public static class HttpMessageVerifier
{
    private const long MinUnixSeconds = -62_135_596_800; // 0001-01-01
    private const long MaxUnixSeconds = 253_402_300_799; // 9999-12-31T23:59:59

    /// <summary>Verifies one signature of <paramref name="message"/>.</summary>
    /// <param name="message">The request (or response) as received.</param>
    /// <param name="signatureInputHeader">The combined <c>Signature-Input</c> value, or null.</param>
    /// <param name="signatureHeader">The combined <c>Signature</c> value, or null.</param>
    /// <param name="options">Requirements; <see cref="VerifyOptions.Default"/> when null.</param>
    /// <param name="resolveKey">
    /// The key for a <c>keyid</c> (called with <c>""</c> when the signature has none), or null when unknown. The
    /// verifier does not dispose it.
    /// </param>
    public static SignatureVerification Verify(SignatureMessage message, string? signatureInputHeader, string? signatureHeader,
        VerifyOptions? options, Func<string, SignatureKey?> resolveKey)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(resolveKey);
        options ??= VerifyOptions.Default;

        if (string.IsNullOrWhiteSpace(signatureInputHeader) || string.IsNullOrWhiteSpace(signatureHeader))
        {
            var missing = string.IsNullOrWhiteSpace(signatureInputHeader)
                ? string.IsNullOrWhiteSpace(signatureHeader) ? "Signature-Input and Signature fields" : "Signature-Input field"
                : "Signature field";
            return SignatureVerification.Fail(SignatureFailure.Missing, $"The message is not signed: it has no {missing}.");
        }

        SfDictionary inputs, signatures;
        try
        {
            inputs = StructuredFields.ParseDictionary(signatureInputHeader, HttpMessageSigner.SignatureInputField);
            signatures = StructuredFields.ParseDictionary(signatureHeader, HttpMessageSigner.SignatureField);
        }
        catch (StructuredFieldException e)
        {
            return SignatureVerification.Fail(SignatureFailure.Malformed, e.Message);
        }

        if (!TrySelect(inputs, signatures, options.Label, out var label, out var error))
        {
            return SignatureVerification.Fail(SignatureFailure.Missing, error);
        }

        if (!inputs.TryGetValue(label, out var inputMember) || inputMember is not SfInnerList signatureParams)
        {
            return SignatureVerification.Fail(SignatureFailure.Malformed,
                $"Signature-Input: member '{label}' must be an inner list of component identifiers, e.g. (\"@method\" \"@path\").", label);
        }

        if (!signatures.TryGetValue(label, out var signatureMember) || signatureMember is not SfItem { Value.Kind: SfBareItemKind.ByteSequence } signatureItem)
        {
            return SignatureVerification.Fail(SignatureFailure.Malformed, $"Signature: member '{label}' must be a Byte Sequence (:base64:).", label);
        }

        return VerifySignature(message, label, signatureParams, signatureItem.Value.AsByteSequence().Span, options, resolveKey);
    }

    private static SignatureVerification VerifySignature(SignatureMessage message, string label, SfInnerList signatureParams, ReadOnlySpan<byte> signature,
        VerifyOptions options, Func<string, SignatureKey?> resolveKey)
    {
        var parameters = new Parameters();
        foreach (var (name, value) in signatureParams.Parameters)
        {
            if (!parameters.TrySet(name, value, out var typeError))
            {
                return SignatureVerification.Fail(SignatureFailure.Malformed, $"Signature-Input '{label}': {typeError}", label);
            }
        }

        foreach (var required in options.RequiredParameters)
        {
            if (!signatureParams.Parameters.ContainsKey(required))
            {
                return SignatureVerification.Fail(SignatureFailure.MissingParameter,
                    $"Signature-Input '{label}' lacks the required parameter '{required}'.", label);
            }
        }

        var covered = new List<string>(signatureParams.Items.Count);
        foreach (var item in signatureParams.Items)
        {
            if (item.Value.Kind != SfBareItemKind.String)
            {
                return SignatureVerification.Fail(SignatureFailure.Malformed,
                    $"Signature-Input '{label}': component identifiers are Strings; found {item}.", label);
            }

            covered.Add(item.Parameters.Count == 0 ? item.Value.AsString() : item.Value.AsString() + SfParametersText(item.Parameters));
        }

        var requiredComponents = options.RequireQueryWhenPresent && message is SignatureRequest { Query: not null }
            ? options.RequiredComponents.Append("@query")
            : options.RequiredComponents;
        foreach (var required in requiredComponents)
        {
            if (!covered.Contains(required, StringComparer.Ordinal))
            {
                return SignatureVerification.Fail(SignatureFailure.MissingComponent,
                    $"Signature '{label}' does not cover the required component \"{required}\".", label);
            }
        }

        if (CheckTime(label, parameters, options) is { } timeFailure)
        {
            return timeFailure;
        }

        var keyId = parameters.KeyId ?? "";
        var key = resolveKey(keyId);
        if (key is null)
        {
            return SignatureVerification.Fail(SignatureFailure.UnknownKey,
                parameters.KeyId is null ? $"Signature '{label}' has no keyid and no key is known for it." : $"Unknown keyid '{keyId}'.", label);
        }

        if (parameters.Alg is { } alg)
        {
            if (!SignatureAlgorithms.TryParse(alg, out var named))
            {
                return SignatureVerification.Fail(SignatureFailure.WrongAlgorithm,
                    $"Signature '{label}' uses alg \"{alg}\", which is not supported (use {SignatureAlgorithms.EcdsaP256Sha256} or {SignatureAlgorithms.HmacSha256}).", label);
            }

            if (named != key.Algorithm)
            {
                return SignatureVerification.Fail(SignatureFailure.WrongAlgorithm,
                    $"Signature '{label}' says alg \"{alg}\" but key '{keyId}' is {key.AlgorithmName}.", label);
            }
        }

        if (options.AllowedAlgorithms is { } allowed && !allowed.Contains(key.Algorithm))
        {
            return SignatureVerification.Fail(SignatureFailure.WrongAlgorithm,
                $"Key '{keyId}' is {key.AlgorithmName}, which is not accepted here (accepted: {string.Join(", ", allowed.Select(SignatureAlgorithms.Name))}).", label);
        }

        if (!SignatureBase.TryCreate(message, signatureParams, out var signatureBase, out var baseFailure, out var baseError))
        {
            return SignatureVerification.Fail(baseFailure, $"Signature '{label}': {baseError}", label);
        }

        if (signature.Length != key.SignatureLength)
        {
            return SignatureVerification.Fail(SignatureFailure.BadSignature,
                $"Signature '{label}' is {signature.Length} bytes; a {key.AlgorithmName} signature is {key.SignatureLength}.", label);
        }

        bool valid;
        try
        {
            valid = key.Verify(Encoding.ASCII.GetBytes(signatureBase), signature);
        }
        catch (CryptographicException)
        {
            valid = false;
        }

        if (!valid)
        {
            return SignatureVerification.Fail(SignatureFailure.BadSignature,
                $"Signature '{label}' does not verify with key '{keyId}' ({key.AlgorithmName}).", label);
        }

        return new SignatureVerification
        {
            Message = $"Signature '{label}' verified with key '{keyId}' ({key.AlgorithmName}).",
            Label = label,
            KeyId = parameters.KeyId,
            Nonce = parameters.Nonce,
            Tag = parameters.Tag,
            Created = parameters.Created is { } created ? DateTimeOffset.FromUnixTimeSeconds(created) : null,
            Expires = parameters.Expires is { } expires ? DateTimeOffset.FromUnixTimeSeconds(expires) : null,
            Algorithm = key.Algorithm,
            CoveredComponents = covered,
        };
    }

    private static SignatureVerification? CheckTime(string label, Parameters parameters, VerifyOptions options)
    {
        var now = options.TimeProvider.GetUtcNow().ToUnixTimeSeconds();
        if (parameters.Expires is { } expires)
        {
            if (parameters.Created is { } c && expires < c)
            {
                return SignatureVerification.Fail(SignatureFailure.Malformed, $"Signature '{label}' expires ({expires}) before it was created ({c}).", label);
            }

            if (now > expires)
            {
                return SignatureVerification.Fail(SignatureFailure.Expired, $"Signature '{label}' expired {Seconds(now - expires)} ago.", label);
            }
        }

        if (parameters.Created is { } created)
        {
            var skew = (long)options.MaxSkew.TotalSeconds;
            if (now - created > skew)
            {
                return SignatureVerification.Fail(SignatureFailure.Stale,
                    $"Signature '{label}' was created {Seconds(now - created)} ago; at most {Seconds(skew)} is accepted.", label);
            }

            if (created - now > skew)
            {
                return SignatureVerification.Fail(SignatureFailure.Stale,
                    $"Signature '{label}' was created {Seconds(created - now)} in the future; at most {Seconds(skew)} of clock skew is accepted.", label);
            }
        }

        return null;
    }

    private static string Seconds(long seconds) => seconds.ToString(CultureInfo.InvariantCulture) + " s";

    private static bool TrySelect(SfDictionary inputs, SfDictionary signatures, string? wanted, out string label, out string error)
    {
        error = "";
        if (wanted is not null)
        {
            label = wanted;
            if (inputs.ContainsKey(wanted) && signatures.ContainsKey(wanted))
            {
                return true;
            }

            error = $"No signature labelled '{wanted}' in both Signature-Input and Signature (Signature-Input has: {Labels(inputs)}; Signature has: {Labels(signatures)}).";
            return false;
        }

        foreach (var (key, _) in inputs)
        {
            if (signatures.ContainsKey(key))
            {
                label = key;
                return true;
            }
        }

        label = "";
        error = $"No label is in both Signature-Input ({Labels(inputs)}) and Signature ({Labels(signatures)}).";
        return false;
    }

    private static string Labels(SfDictionary dictionary) => dictionary.Count == 0 ? "none" : string.Join(", ", dictionary.Keys);

    private static string SfParametersText(SfParameters parameters)
    {
        var builder = new StringBuilder();
        SfWriter.AppendParameters(builder, parameters);
        return builder.ToString();
    }

    /// <summary>The signature parameters of RFC 9421 §2.3 with their types checked; unknown ones are only signed over.</summary>
    private sealed class Parameters
    {
        public long? Created { get; private set; }

        public long? Expires { get; private set; }

        public string? KeyId { get; private set; }

        public string? Nonce { get; private set; }

        public string? Alg { get; private set; }

        public string? Tag { get; private set; }

        public bool TrySet(string name, SfBareItem value, out string error)
        {
            error = "";
            switch (name)
            {
                case "created" or "expires":
                    if (value.Kind != SfBareItemKind.Integer || value.AsInteger() is < MinUnixSeconds or > MaxUnixSeconds)
                    {
                        error = $"'{name}' must be an Integer (Unix time in seconds), not {value}.";
                        return false;
                    }

                    if (name == "created")
                    {
                        Created = value.AsInteger();
                    }
                    else
                    {
                        Expires = value.AsInteger();
                    }

                    return true;
                case "keyid" or "nonce" or "alg" or "tag":
                    if (value.Kind != SfBareItemKind.String)
                    {
                        error = $"'{name}' must be a String, not {value}.";
                        return false;
                    }

                    var text = value.AsString();
                    _ = name switch
                    {
                        "keyid" => KeyId = text,
                        "nonce" => Nonce = text,
                        "alg" => Alg = text,
                        _ => Tag = text,
                    };
                    return true;
                default:
                    return true;
            }
        }
    }
}
