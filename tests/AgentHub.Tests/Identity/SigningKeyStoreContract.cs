using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using AgentHub.Identity;
using AgentHub.Tests.Infrastructure;
using AgentHub.Tests.Storage;
using AgentHub.Vault;

namespace AgentHub.Tests.Identity;

/// <summary>What <see cref="SigningKeyStore"/> must do, on each engine against a fresh, migrated database.</summary>
public abstract class SigningKeyStoreContract(Db engine) : IAsyncLifetime
{
    private readonly ManualTimeProvider _time = new(StoreDatabase.Start);
    private StoreDatabase _db = null!;
    private SigningKeyStore _store = null!;

    public async Task InitializeAsync()
    {
        _db = await StoreDatabase.CreateAsync(engine);
        _store = new SigningKeyStore(_db.Database, _db.Box, _time);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Empty_store_lists_nothing_and_has_no_active_key()
    {
        Assert.Empty(await _store.ListAsync(default));
        await Assert.ThrowsAsync<InvalidOperationException>(() => _store.GetActiveAsync(default));
    }

    [Fact]
    public async Task Rotate_on_empty_store_adds_one_active_es256_key()
    {
        var added = await _store.RotateAsync(default);

        var listed = Assert.Single(await _store.ListAsync(default));
        Assert.Equal(added, listed);
        Assert.True(listed.Active);
        Assert.Equal(("ES256", StoreDatabase.Start), (listed.Algorithm, listed.CreatedAt));
        Assert.Equal(("EC", "P-256", "sig", "ES256", listed.Kid),
            (listed.PublicKey.Kty, listed.PublicKey.Crv, listed.PublicKey.Use, listed.PublicKey.Alg, listed.PublicKey.Kid));
    }

    [Fact]
    public async Task Rotate_retires_the_old_key_which_stays_listed_and_leaves_exactly_one_active()
    {
        var first = await _store.RotateAsync(default);
        _time.Advance(TimeSpan.FromDays(30));
        var second = await _store.RotateAsync(default);

        var listed = await _store.ListAsync(default);

        Assert.Equal([second.Kid, first.Kid], listed.Select(k => k.Kid)); // newest first
        Assert.Equal(second.Kid, Assert.Single(listed, k => k.Active).Kid);
        var retired = listed.Single(k => k.Kid == first.Kid);
        Assert.Equal(StoreDatabase.Start.AddDays(30), retired.RetiredAt);
        Assert.Equal(first.PublicKey, retired.PublicKey); // still published for verification
        Assert.NotEqual(first.PublicKey.X, second.PublicKey.X);
    }

    [Fact]
    public async Task GetActive_returns_the_newest_key_whose_signatures_verify_with_its_published_jwk()
    {
        await _store.RotateAsync(default);
        _time.Advance(TimeSpan.FromHours(1));
        var older = await _store.RotateAsync(default);
        _time.Advance(TimeSpan.FromHours(1));
        var newest = await _store.RotateAsync(default);
        var data = Encoding.UTF8.GetBytes("header.payload");

        var (kid, key) = await _store.GetActiveAsync(default);
        byte[] signature;
        using (key)
        {
            signature = key.SignData(data, HashAlgorithmName.SHA256);
        }

        Assert.Equal(newest.Kid, kid);
        var published = (await _store.ListAsync(default)).Single(k => k.Kid == kid).PublicKey;
        using var verifier = FromJwk(published);
        Assert.True(verifier.VerifyData(data, signature, HashAlgorithmName.SHA256));
        using var retiredVerifier = FromJwk(older.PublicKey);
        Assert.False(retiredVerifier.VerifyData(data, signature, HashAlgorithmName.SHA256));
    }

    [Fact]
    public async Task Kid_is_the_rfc7638_thumbprint_of_the_published_jwk()
    {
        var key = (await _store.RotateAsync(default)).PublicKey;

        var canonical = $$"""{"crv":"{{key.Crv}}","kty":"{{key.Kty}}","x":"{{key.X}}","y":"{{key.Y}}"}""";

        Assert.Equal(Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(canonical))), key.Kid);
        Assert.Equal(32, Base64Url.DecodeFromChars(key.X).Length);
        Assert.Equal(32, Base64Url.DecodeFromChars(key.Y).Length);
    }

    [Fact]
    public async Task Private_key_is_stored_sealed_under_the_master_key_and_bound_to_its_kid()
    {
        var key = await _store.RotateAsync(default);

        var stored = Assert.Single(await _db.QueryAsync<byte[]>("SELECT private_key FROM signing_keys"));

        using (var probe = ECDsa.Create())
        {
            Assert.ThrowsAny<CryptographicException>(() => probe.ImportPkcs8PrivateKey(stored, out _));
        }

        Assert.Throws<VaultException>(() => _db.Box.Open(stored, "signing_keys/another-kid"));
        using var opened = ECDsa.Create();
        opened.ImportPkcs8PrivateKey(_db.Box.Open(stored, "signing_keys/" + key.Kid), out _);
        Assert.Equal(Base64Url.DecodeFromChars(key.PublicKey.X), opened.ExportParameters(false).Q.X);
    }

    [Fact]
    public async Task GetActive_under_another_master_key_fails_with_a_vault_error()
    {
        await _store.RotateAsync(default);
        using var otherKey = StoreDatabase.NewMasterKey();
        var other = new SigningKeyStore(_db.Database, new SecretBox(otherKey), _time);

        var error = await Assert.ThrowsAsync<VaultException>(() => other.GetActiveAsync(default));

        Assert.Contains("does not decrypt", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Parallel_rotations_from_separate_instances_leave_exactly_one_active_key()
    {
        await _store.RotateAsync(default);
        var stores = Enumerable.Range(0, 6).Select(_ => new SigningKeyStore(_db.OpenAnother(), _db.Box, _time)).ToList();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var rotations = stores.Select(s => Task.Run(async () =>
        {
            await gate.Task;
            return await s.RotateAsync(default);
        })).ToList();
        gate.SetResult();
        var added = await Task.WhenAll(rotations);

        var listed = await _store.ListAsync(default);

        Assert.Equal(7, listed.Count);
        Assert.Equal(7, listed.Select(k => k.Kid).Distinct().Count());
        var active = Assert.Single(listed, k => k.Active);
        Assert.Contains(active.Kid, added.Select(k => k.Kid));
        var (kid, key) = await _store.GetActiveAsync(default);
        key.Dispose();
        Assert.Equal(active.Kid, kid);
    }

    private static ECDsa FromJwk(Jwk jwk) => ECDsa.Create(new ECParameters
    {
        Curve = ECCurve.NamedCurves.nistP256,
        Q = new ECPoint { X = Base64Url.DecodeFromChars(jwk.X), Y = Base64Url.DecodeFromChars(jwk.Y) },
    });
}

public sealed class SigningKeyStoreSqliteTests() : SigningKeyStoreContract(Db.Sqlite);

public sealed class SigningKeyStorePostgresTests() : SigningKeyStoreContract(Db.Postgres);
