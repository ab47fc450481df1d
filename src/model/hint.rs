//! What the user can do about an error, as data: the engine says what, each front end words it.
//! Its own module so that every part can name a hint without depending on the engine's error.

/// What the user can do about an error. The engine says what; each front end words it: the CLI
/// as the command to run, the app as an action it offers. Several hints may lead to the same
/// action where the engine's sentences differ.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "hint", rename_all = "kebab-case")]
pub enum Hint {
    /// See which profiles exist.
    ListProfiles,
    /// The name is taken: remove that profile first, or choose another name.
    RemoveProfile { name: String },
    /// Imported profiles take names that exist (`names`, each of them): replace them, or
    /// import under other names.
    ReplaceOrRename { names: Vec<String> },
    /// See which accounts exist.
    ListAccounts,
    /// No such profile, but one of a name close to it: `name`.
    DidYouMeanProfile { name: String },
    /// No such account, but one of a name close to it: `name` (an account, or a profile
    /// standing for its default account).
    DidYouMeanAccount { name: String },
    /// The account's grant is gone: sign in to the profile again, as the account's label
    /// (without it, a sign-in may make an account of another name and leave this one as it is).
    SignIn {
        profile: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
    },
    /// Tokens the provider issued could not be stored: sign in again to replace them.
    ReplaceLostGrant { profile: String },
    /// The browser sign-in ended without an answer: start it again (or open the URL by hand).
    RetrySignIn { profile: String },
    /// The implicit sign-in ended without an answer: start it again, with JavaScript on.
    RetryImplicitSignIn { profile: String },
    /// The device code expired: start the device sign-in again.
    RetryDeviceSignIn,
    /// The wait for approval ran out: start again, allowing more time.
    AllowMoreTime,
    /// The profile's client secret is missing or unreadable: set it.
    SetClientSecret { profile: String },
    /// The provider refused the client's authentication (`invalid_client`): the client secret
    /// may be wrong; set it again.
    WrongClientSecret { profile: String },
    /// The provider refused the requested scopes (`invalid_scope`): check the profile's scopes.
    CheckScopes { profile: String },
    /// The sign-in was refused (`access_denied`): by the user at the provider's page (start it
    /// again and approve), or by the provider's policy, which the scopes may cause.
    SignInDenied { profile: String },
    /// A client credentials profile has no sign-in: fetch its token instead.
    FetchToken { profile: String },
    /// Revoking failed: the account can be removed without revoking.
    RemoveWithoutRevoking,
    /// Give the profile an issuer, whose discovery document lists the keys, or drop `openid`.
    AddProfileWithIssuer,
    /// Add the profile again with an issuer so that discovery finds the keys, or drop `openid`.
    AddProfileAgainWithIssuer,
    /// The profile has no issuer to check an id_token's `iss` with: add it again with one.
    GiveIssuer,
    /// Add the profile again with its device authorization endpoint.
    AddDeviceEndpoint,
    /// Add the profile again, opting in to a legacy grant.
    AllowLegacyGrant { grant: String },
    /// Discovery found nothing: give the endpoints instead.
    GiveEndpoints,
    /// The `scope` parameter is set from the profile's scopes.
    UseScopes,
    /// The auth method needs a client secret: give one (`auth_method` if one was chosen).
    PassClientSecret { auth_method: Option<String> },
    /// A client secret was given for a public client (auth method `none`): drop one of them.
    DropClientSecret,
    /// No such preset: see the presets.
    ListPresets,
    /// The OS keychain is locked or not answering: unlock it and try again.
    UnlockKeychain,
    /// The proxy did not answer or refused: check the profile's proxy, else the environment's.
    CheckProxy,
    /// Proxy credentials go in `HTTPS_PROXY`, never in the profile.
    ProxyCredentials,
    /// The server's certificate is signed by a CA the OS does not trust (a company CA): give
    /// that CA's file in the profile.
    GiveCaFile,
    /// The certificate is trusted but unfit (expired, another name): check the URL or clock.
    CheckCertificate,
    /// The host name does not resolve: check the URL, or the proxy that would resolve it.
    CheckHostName,
    /// An access rule refused the program: remove the rule, or allow the program.
    ChangeAccessRule {
        id: String,
        account: String,
        program: String,
    },
    /// The rules say ask, and nobody could be asked (or nobody answered): allow the program.
    AllowProgram { account: String, program: String },
    /// `invalid_client` for a `private_key_jwt` client: the provider may not know its key.
    RegisterClientKey { profile: String },
    /// The provider requires pushed authorization requests of this client.
    UsePar { profile: String },
    /// A DPoP-bound account's token, for a tool that cannot make proofs.
    UseProxyForDpop { account: String },
    /// An env file found by searching is not trusted (or changed): read it, then trust it.
    TrustFile { path: String },
}
