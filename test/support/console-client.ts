/** A small HTTP client for the console in tests: keeps the cookies, never follows redirects. */
export class ConsoleClient {
  readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  private keep(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair!.indexOf("=");
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      if (value === "" || /max-age=0|expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const res = await fetch(this.base + path, {
      redirect: "manual",
      headers: { cookie: this.cookieHeader(), ...headers },
    });
    this.keep(res);
    return res;
  }

  async post(
    path: string,
    form: Record<string, string> | FormData,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const body = form instanceof FormData ? form : new URLSearchParams(form);
    const res = await fetch(this.base + path, {
      method: "POST",
      redirect: "manual",
      body,
      headers: { cookie: this.cookieHeader(), ...headers },
    });
    this.keep(res);
    return res;
  }

  /** The CSRF token a page carries in its forms. */
  static csrfOf(htmlText: string): string {
    const m = /name="_csrf" value="([^"]+)"/.exec(htmlText);
    if (!m) throw new Error("no CSRF field on the page");
    return m[1]!;
  }

  async login(username: string, password: string): Promise<Response> {
    const form = await this.get("/login");
    const token = ConsoleClient.csrfOf(await form.text());
    return this.post("/login", { _csrf: token, username, password });
  }

  /** The session's CSRF token (from the today page). */
  async csrf(): Promise<string> {
    const res = await this.get("/sql");
    return ConsoleClient.csrfOf(await res.text());
  }
}
