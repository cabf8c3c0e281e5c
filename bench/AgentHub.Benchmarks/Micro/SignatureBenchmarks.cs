using System.Security.Cryptography;
using AgentHub.Client.Signatures;
using BenchmarkDotNet.Attributes;

namespace AgentHub.Benchmarks.Micro;

/// <summary>
/// RFC 9421 on a relay call: an agent signs its SendMessage to the hub, the hub verifies it. The covered components
/// and parameters are the ones agents send (<c>created keyid nonce alg</c>); each signature gets a fresh nonce.
/// </summary>
[BenchmarkCategory("Signatures")]
public class SignatureBenchmarks : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);

    private readonly FixedClock _clock = new(Now);
    private ECDsa? _ecdsa;
    private SignatureKey _key = null!;
    private SignatureRequest _request = null!;
    private SignatureOptions _signOptions = null!;
    private VerifyOptions _verifyOptions = null!;
    private SignatureHeaders _signed = null!;

    [Params("ecdsa-p256-sha256", "hmac-sha256")]
    public string Algorithm { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        if (Algorithm == "hmac-sha256")
        {
            _key = SignatureKey.Hmac("travel-planner-hmac", RandomNumberGenerator.GetBytes(32));
        }
        else
        {
            _ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            _key = SignatureKey.Ecdsa("travel-planner-p256", _ecdsa);
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["content-type"] = "application/json",
            ["content-digest"] = ContentDigest.Compute(A2aSamples.SendMessage),
            ["a2a-version"] = "1.0",
        };
        _request = new SignatureRequest("POST", "hub.example.com", A2aSamples.AgentPath, null, fields.GetValueOrDefault);
        _signOptions = new SignatureOptions
        {
            Components = VerifyOptions.DefaultRequiredComponents,
            IncludeAlgorithm = true,
            TimeProvider = _clock,
        };
        _verifyOptions = new VerifyOptions { TimeProvider = _clock };
        _signed = Sign();
        if (Verify() is { Success: false } failed)
        {
            throw new InvalidOperationException($"The sample signature does not verify: {failed.Message}");
        }
    }

    [Benchmark]
    public SignatureHeaders Sign() => HttpMessageSigner.Sign(_request, _key, _signOptions);

    [Benchmark]
    public SignatureVerification Verify() =>
        HttpMessageVerifier.Verify(_request, _signed.SignatureInput, _signed.Signature, _verifyOptions, _ => _key);

    [GlobalCleanup]
    public void Dispose()
    {
        _key.Dispose();
        _ecdsa?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>A clock that stands still, so a signature made in setup never goes stale during a long run.</summary>
    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
