import { html, table } from "../html";
import { csrfField } from "../layout";
import { BadRequest, field, type RequestContext } from "../context";
import { UserInputError, addUser, disableUser, listUsers } from "../auth/store";
import { PasswordPolicyError } from "../auth/passwords";
import { ROLES } from "../auth/roles";

export async function usersPage(x: RequestContext) {
  const rows = await listUsers(x.deps.pool);
  const body = html`${table(["username", "role", "created_at", "last_login", "disabled_at", "disable"], rows, {
    cell: (c, v, row) =>
      c === "disable"
        ? row.disabled_at || row.username === x.user.username
          ? ""
          : html`<form class="inline" method="post" action="/users/disable">${csrfField(x.page.csrf)}
<input type="hidden" name="username" value="${String(row.username)}"><button type="submit" class="danger">Disable</button></form>`
        : v instanceof Date
          ? v.toISOString()
          : String(v ?? ""),
  })}
<h2>Add a user (or set an existing user's role and password)</h2>
<form class="filters" method="post" action="/users">${csrfField(x.page.csrf)}
<label>User name <input name="username" required></label>
<label>Role <select name="role">${ROLES.map((r) => html`<option>${r}</option>`)}</select></label>
<label>Password (12+ characters) <input name="password" type="password" autocomplete="new-password" required></label>
<button type="submit">Save</button></form>`;
  return x.render("Users", body);
}

export async function addUserAction(x: RequestContext) {
  try {
    const r = await addUser(
      x.deps.pool,
      field(x.body, "username") ?? "",
      field(x.body, "role") ?? "",
      field(x.body, "password") ?? "",
    );
    await x.audit(r.created ? "user.add" : "user.update", r.user.username, "ok", { role: r.user.role });
  } catch (e) {
    if (e instanceof UserInputError || e instanceof PasswordPolicyError) throw new BadRequest(e.message);
    throw e;
  }
  return x.c.redirect("/users", 303);
}

export async function disableUserAction(x: RequestContext) {
  const name = field(x.body, "username") ?? "";
  if (name === x.user.username) throw new BadRequest("you cannot disable yourself");
  try {
    await disableUser(x.deps.pool, name);
  } catch (e) {
    if (e instanceof UserInputError) throw new BadRequest(e.message);
    throw e;
  }
  await x.audit("user.disable", name);
  return x.c.redirect("/users", 303);
}
