using Microsoft.AspNetCore.Mvc;
using Orchestrator.Functions.Web;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Platform;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Pages.Projects;

/// <summary>
/// <c>/p/{slug}/settings</c> (project admins only; viewers and editors get 403): the project's connections (secrets
/// write-only, shown masked), repositories, AutoTask marker, Asana custom fields (picked from the Asana API or pasted as
/// gids), the status → lifecycle mapping, mode, agent and model overrides, budget; "Sync repos to the Asana Repo field";
/// memberships and invites. A save checks everything first and writes nothing when anything is wrong (each problem next to
/// its field); it carries the version it was read at, so a save over someone else's change is refused with the current
/// values shown. Every change is audited (<see cref="AuditLog"/>).
/// </summary>
public sealed class SettingsModel(ProjectStore projects, AccountStore accounts, AsanaFields asanaFields, AuditLog audit, OrchestratorSettings settings) : ProjectPageModel
{
    private static readonly TimeSpan AsanaTimeout = TimeSpan.FromSeconds(20);

    /// <summary>The connection fields.</summary>
    [BindProperty]
    public ProjectForm Input { get; set; } = new();

    /// <summary>The other settings (version, Asana fields, status mapping, agents, budget).</summary>
    [BindProperty]
    public ProjectSettingsForm Extra { get; set; } = new();

    /// <summary>The Telegram section (issue #12).</summary>
    [BindProperty]
    public Orchestrator.Functions.Telegram.TelegramSettingsForm Telegram { get; set; } = new();

    /// <summary>Field → message (<c>""</c>: not tied to a field).</summary>
    public Dictionary<string, string> Errors { get; private set; } = new(StringComparer.Ordinal);

    /// <summary>A problem with the whole form (a conflict), shown above it.</summary>
    public string? Problem { get; private set; }

    /// <summary>Agent names of <c>ORCH_AGENTS_JSON</c>.</summary>
    public IReadOnlyCollection<string> KnownAgents => settings.Agents.Names;

    /// <summary>The project's members, by name.</summary>
    public IReadOnlyList<Membership> Members { get; private set; } = [];

    /// <summary>Host admins (admins of every project whatever their membership).</summary>
    public IReadOnlyList<UserAccount> HostAdmins { get; private set; } = [];

    /// <summary>The project's invites, newest first.</summary>
    public IReadOnlyList<InviteInfo> Invites { get; private set; } = [];

    /// <summary>The invite link just created (shown once, in the answer to the POST that made it).</summary>
    public string? NewInviteUrl { get; private set; }

    /// <summary>The invite just created.</summary>
    public InviteInfo? NewInvite { get; private set; }

    /// <summary>The Asana custom fields, when loaded (<c>?asana=fields</c>).</summary>
    public IReadOnlyList<AsanaFieldChoice>? AsanaFieldList { get; private set; }

    /// <summary>Why the Asana fields could not be loaded or synced.</summary>
    public string? AsanaProblem { get; private set; }

    /// <summary>The result of "Sync repos to the Asana Repo field".</summary>
    public RepoSyncResult? Synced { get; private set; }

    /// <summary>"Now", for invite states.</summary>
    public DateTimeOffset Now { get; } = DateTimeOffset.UtcNow;

    /// <summary>Whether the project's tracker is Asana.</summary>
    public bool IsAsana => Project.Definition.Tracker.Kind == TrackerConfig.Asana;

    /// <inheritdoc />
    protected override ProjectRole ReadRole => ProjectRole.Admin;

    /// <inheritdoc />
    protected override ProjectRole WriteRole => ProjectRole.Admin;

    /// <inheritdoc />
    protected override string Section => "settings";

    /// <summary>Shows the settings; <c>?asana=fields</c> also lists the Asana custom fields to pick from.</summary>
    /// <param name="asana"><c>fields</c> to load the Asana custom fields.</param>
    /// <returns>The page.</returns>
    public async Task<IActionResult> OnGetAsync(string? asana)
    {
        if (asana == "fields" && IsAsana)
        {
            await LoadAsanaFieldsAsync();
        }

        ShowStored(Project);
        await LoadAccessAsync();
        return Page();
    }

    /// <summary>Saves the settings form.</summary>
    /// <returns>A redirect to the page, or the page with the problems.</returns>
    public async Task<IActionResult> OnPostAsync()
    {
        var current = Project;
        var definition = Input.ToDefinition(current.Definition);
        definition = Extra.Apply(definition, KnownAgents, Errors);
        definition = Telegram.Apply(definition, Errors);
        foreach (var (field, message) in ProjectSettingsForm.FieldErrors(definition.Validate(KnownAgents)))
        {
            Errors.TryAdd(field, message);
        }

        if (Errors.Count > 0)
        {
            return await AgainAsync(StatusCodes.Status400BadRequest);
        }

        var secretChanges = Input.SecretChanges();
        try
        {
            var updated = await projects.UpdateAsync(current.Slug, definition, secretChanges, Extra.Version, HttpContext.RequestAborted);
            if (updated is null)
            {
                return NotFound();
            }

            if (updated.Definition.Telegram is { } chat && HttpContext.RequestServices.GetService<Orchestrator.Functions.Telegram.TelegramBot>() is { } bot)
            {
                await bot.ClearLostAsync(chat.ChatId, HttpContext.RequestAborted); // saved again: try the chat again
            }

            audit.Record(Me, updated.Slug, "settings.saved", $"version {current.Version} → {updated.Version}: {AuditLog.DescribeChange(current.Definition, updated.Definition, secretChanges)}");
            TempData["Flash"] = $"Settings saved (version {updated.Version}).";
            return LocalRedirect(PagePath);
        }
        catch (ProjectValidationException ex)
        {
            Errors = ProjectSettingsForm.FieldErrors(ex.Errors);
            return await AgainAsync(StatusCodes.Status400BadRequest);
        }
        catch (ProjectRuleException ex)
        {
            Errors = ProjectSettingsForm.FieldErrors(ex.Errors);
            return await AgainAsync(StatusCodes.Status422UnprocessableEntity);
        }
        catch (ProjectConflictException ex)
        {
            var now = await projects.GetAsync(current.Slug, HttpContext.RequestAborted);
            if (now is null)
            {
                return NotFound();
            }

            if (now.Version == Extra.Version)
            {
                // Not a stale version: a tracker project of the form belongs to another project.
                Errors = new Dictionary<string, string>(StringComparer.Ordinal) { [nameof(ProjectForm.TrackerProjectIds)] = ex.Message };
                return await AgainAsync(StatusCodes.Status409Conflict);
            }

            // Someone saved in between: show what is stored now, so the person applies their change to it.
            Problem = $"The project changed meanwhile (it is now at version {now.Version}, you edited version {Extra.Version}). Nothing was saved; the form shows the current values — make your change again.";
            ShowStored(now);
            await LoadAccessAsync();
            Response.StatusCode = StatusCodes.Status409Conflict;
            return Page();
        }
    }

    /// <summary>Adds an option to the Asana Repo field for every forge repo that has none, and reports what it did.</summary>
    /// <returns>The page with the result.</returns>
    public async Task<IActionResult> OnPostSyncReposAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(HttpContext.RequestAborted);
        timeout.CancelAfter(AsanaTimeout);
        try
        {
            Synced = await asanaFields.SyncRepoOptionsAsync(Project, timeout.Token);
            audit.Record(Me, Project.Slug, "asana.repos-synced",
                $"field {Synced.Field.Name} ({Synced.Field.Gid}): added {List(Synced.Added)}; present {List(Synced.Present)}; disabled {List(Synced.Disabled)}");
        }
        catch (Exception ex) when (AsanaFailure(ex, timeout.Token) is { } message)
        {
            AsanaProblem = message;
            Response.StatusCode = ex is AsanaFieldsException ? StatusCodes.Status400BadRequest : StatusCodes.Status502BadGateway;
        }

        ShowStored(Project);
        await LoadAccessAsync();
        return Page();
    }

    /// <summary>Creates an invite for a role and shows its link once.</summary>
    /// <param name="inviteRole">The role the invitee gets.</param>
    /// <returns>The page with the link.</returns>
    public async Task<IActionResult> OnPostInviteAsync(string? inviteRole)
    {
        if (!ProjectRoles.TryParse(inviteRole, out var role))
        {
            Errors["InviteRole"] = "Choose viewer, editor or admin.";
            ShowStored(Project);
            return await AgainAsync(StatusCodes.Status400BadRequest, keepForm: false);
        }

        var (token, invite) = await accounts.CreateInviteAsync(Project.Slug, role, Me.UserId, HttpContext.RequestAborted);
        audit.Record(Me, Project.Slug, "invite.created", $"invite {invite.Id} as {role.Name()}, expires {invite.ExpiresAt:yyyy-MM-dd HH:mm} UTC");

        // The token exists only in this answer (the database keeps its hash): not in a redirect, a cookie or a log.
        NewInviteUrl = WebLinks.Absolute(Request, settings, "invite/" + Uri.EscapeDataString(token));
        NewInvite = invite;
        ShowStored(Project);
        await LoadAccessAsync();
        return Page();
    }

    /// <summary>Deletes an unused invite.</summary>
    /// <param name="id">The invite.</param>
    /// <returns>A redirect to the page.</returns>
    public async Task<IActionResult> OnPostDeleteInviteAsync(long id)
    {
        var deleted = await accounts.DeleteInviteAsync(Project.Slug, id, HttpContext.RequestAborted);
        if (deleted)
        {
            audit.Record(Me, Project.Slug, "invite.deleted", $"invite {id}");
        }

        TempData["Flash"] = deleted ? "The invite was deleted; its link no longer works." : "That invite was already used or deleted.";
        return LocalRedirect(PagePath + "#invites");
    }

    /// <summary>Changes a member's role (the last admin cannot be demoted by a project admin).</summary>
    /// <param name="userId">The member.</param>
    /// <param name="memberRole">The new role.</param>
    /// <returns>A redirect to the page, or the page with the refusal.</returns>
    public Task<IActionResult> OnPostRoleAsync(long userId, string? memberRole) =>
        ProjectRoles.TryParse(memberRole, out var role)
            ? ChangeMembershipAsync(userId, role)
            : RefuseMemberAsync("Choose viewer, editor or admin.");

    /// <summary>Removes a member (the last admin cannot be removed by a project admin).</summary>
    /// <param name="userId">The member.</param>
    /// <returns>A redirect, or the page with the refusal.</returns>
    public Task<IActionResult> OnPostRemoveMemberAsync(long userId) => ChangeMembershipAsync(userId, null);

    /// <summary>The status badge of an invite: <c>used</c>, <c>expired</c> or <c>open</c>.</summary>
    /// <param name="invite">The invite.</param>
    /// <returns>The word.</returns>
    public string InviteStatus(InviteInfo invite) => invite.UsedAt is not null ? "used" : invite.ExpiresAt <= Now ? "expired" : "open";

    /// <summary>The Asana field a rule names, when the fields are loaded.</summary>
    /// <param name="field">Gid or name.</param>
    /// <returns>The field, or <c>null</c>.</returns>
    public AsanaFieldChoice? AsanaField(string? field) => AsanaFieldList?.FirstOrDefault(f => f.Matches(field));

    private string PagePath => $"/p/{Uri.EscapeDataString(Project.Slug)}/settings";

    private async Task<IActionResult> ChangeMembershipAsync(long userId, ProjectRole? role)
    {
        var member = (await accounts.ListMembersAsync(Project.Slug, HttpContext.RequestAborted)).FirstOrDefault(m => m.UserId == userId);

        // Host admins administer every project anyway, so they may leave a project without an admin membership.
        var outcome = await accounts.ChangeMembershipAsync(Project.Slug, userId, role, mayLeaveNoAdmin: Me.IsHostAdmin, HttpContext.RequestAborted);
        switch (outcome)
        {
            case MembershipChange.LastAdmin:
                return await RefuseMemberAsync($"{member?.Username ?? "This member"} is the project's last admin. Make someone else admin first (host admins are admins of every project and may do this).");
            case MembershipChange.NotMember:
                TempData["Flash"] = "That user is no longer a member.";
                return LocalRedirect(PagePath + "#members");
        }

        var who = member?.Username ?? $"user {userId}";
        audit.Record(Me, Project.Slug, role is null ? "member.removed" : "member.role-changed",
            role is null ? $"{who} (was {member?.Role.Name()})" : $"{who}: {member?.Role.Name()} → {role.Value.Name()}");
        TempData["Flash"] = role is null ? $"{who} was removed from the project." : $"{who} is now {role.Value.Name()}.";

        // Someone who just removed or demoted themselves can no longer see this page.
        return userId == Me.UserId && !Me.IsHostAdmin && role != ProjectRole.Admin ? LocalRedirect("/app") : LocalRedirect(PagePath + "#members");
    }

    private async Task<IActionResult> RefuseMemberAsync(string message)
    {
        Errors["Members"] = message;
        ShowStored(Project);
        return await AgainAsync(StatusCodes.Status409Conflict, keepForm: false);
    }

    /// <summary>The page again with the problems (the posted form kept unless <paramref name="keepForm"/> is false).</summary>
    private async Task<IActionResult> AgainAsync(int status, bool keepForm = true)
    {
        if (keepForm)
        {
            Input.StoredSecrets = Project.MaskedSecrets;
        }

        await LoadAccessAsync();
        Response.StatusCode = status;
        return Page();
    }

    private void ShowStored(StoredProject project)
    {
        var statusOptions = AsanaField(project.Definition.Tracker.Status.Field)?.Options.Where(o => o.Enabled).Select(o => o.Name);
        Input = ProjectForm.From(project.Definition);
        Input.StoredSecrets = project.MaskedSecrets;
        Extra = ProjectSettingsForm.From(project, statusOptions, KnownAgents);
        Telegram = Orchestrator.Functions.Telegram.TelegramSettingsForm.From(project.Definition);
    }

    /// <summary>What the Telegram section says about the bot: configured, which API, or <c>null</c> when there is none.</summary>
    public string? TelegramBotStatus => HttpContext.RequestServices.GetService<Orchestrator.Functions.Telegram.TelegramBot>() is { Api: { } api } bot
        ? $"Bot {api.BotId} via {bot.ApiUrl.GetLeftPart(UriPartial.Authority)}."
        : null;

    /// <summary>Why the bot cannot write to the project's chat (it was removed, the topic is gone), or <c>null</c>.</summary>
    public string? TelegramChatProblem { get; private set; }

    private async Task LoadTelegramStatusAsync()
    {
        if (Project.Definition.Telegram is { } chat && HttpContext.RequestServices.GetService<Orchestrator.Functions.Telegram.TelegramBot>() is { } bot
            && await bot.LostStateAsync(chat.ChatId, HttpContext.RequestAborted) is { } lost)
        {
            TelegramChatProblem = $"The bot lost access to this chat at {lost.At:yyyy-MM-dd HH:mm} UTC: {lost.Reason}. Add it back (or fix the topic), then save to try again.";
        }
    }

    private async Task LoadAccessAsync()
    {
        await LoadTelegramStatusAsync();
        Members = await accounts.ListMembersAsync(Project.Slug, HttpContext.RequestAborted);
        HostAdmins = await accounts.ListHostAdminsAsync(HttpContext.RequestAborted);
        Invites = await accounts.ListInvitesAsync(Project.Slug, HttpContext.RequestAborted);
    }

    private async Task LoadAsanaFieldsAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(HttpContext.RequestAborted);
        timeout.CancelAfter(AsanaTimeout);
        try
        {
            AsanaFieldList = await asanaFields.ListAsync(Project, timeout.Token);
        }
        catch (Exception ex) when (AsanaFailure(ex, timeout.Token) is { } message)
        {
            AsanaProblem = message;
        }
    }

    /// <summary>The message for a failure of an Asana field call, or <c>null</c> for exceptions that are not about Asana.</summary>
    private string? AsanaFailure(Exception ex, CancellationToken timeout) => ex switch
    {
        AsanaFieldsException or PlatformApiException or OutboundRefusedException or ArgumentException => ex.Message,
        OperationCanceledException when timeout.IsCancellationRequested && !HttpContext.RequestAborted.IsCancellationRequested => $"Asana did not answer within {AsanaTimeout.TotalSeconds:0} s.",
        _ => null,
    };

    private static string List(IReadOnlyList<string> items) => items.Count == 0 ? "none" : string.Join(", ", items);
}
