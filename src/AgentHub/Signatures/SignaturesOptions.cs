using System.ComponentModel.DataAnnotations;

namespace AgentHub.Signatures;

/// <summary>Request signature settings (section <c>Signatures</c>).</summary>
internal sealed class SignaturesOptions
{
    public const string Section = "Signatures";

    /// <summary>How far a signature's <c>created</c> may be from the hub's clock, either way; also how long a nonce is remembered.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:30:00", ErrorMessage = "Signatures:MaxClockSkew must be between 00:00:01 and 00:30:00.")]
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often expired nonces are deleted from the replay cache.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Signatures:ReplayPurgeInterval must be between 00:00:01 and 01:00:00.")]
    public TimeSpan ReplayPurgeInterval { get; set; } = TimeSpan.FromSeconds(30);
}
