// A few real calls written the way a frontend would, against the types generated from the
// API's OpenAPI document (api.d.ts). `make ts-check` type-checks this file with
// `tsc --strict`, so a contract change that would break frontends fails `make test`.
import type { components, paths } from "./api";

type Schemas = components["schemas"];
type JsonOf<R> = R extends { content: { "application/json": infer Body } } ? Body : never;

type Register = paths["/v1/auth/register"]["post"];
type RegisterBody = JsonOf<Register["requestBody"]>;
type Registered = JsonOf<Register["responses"][201]>;
type RegisterError = JsonOf<Register["responses"][400 | 401 | 409 | 413 | 415 | 422]>;

type Adjust = paths["/v1/admin/adjustments"]["post"];
type AdjustmentBody = JsonOf<Adjust["requestBody"]>;
type Adjusted = JsonOf<Adjust["responses"][201]>;
type AdjustHeaders = NonNullable<Adjust["parameters"]["header"]>;

type OtpRefused = JsonOf<paths["/v1/auth/otp"]["post"]["responses"][429]>;

const BASE = "http://127.0.0.1:8000";

async function post<Body, Answer>(
  path: string,
  body: Body,
  token?: string,
  extra: Record<string, string> = {},
): Promise<Answer> {
  const headers: Record<string, string> = { "content-type": "application/json", ...extra };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(BASE + path, { method: "POST", headers, body: JSON.stringify(body) });
  if (!response.ok) throw new ApiError(response.status, (await response.json()) as Schemas["Error"], response);
  return (await response.json()) as Answer;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Schemas["Error"],
    readonly response: Response,
  ) {
    super(body.error.message);
  }

  // exposed to browser code by CORS, on the app's answers and the gateway's own
  get requestId(): string | null {
    return this.response.headers.get("X-Request-Id");
  }

  get retryAfterSeconds(): number | null {
    const value = this.response.headers.get("Retry-After");
    return value === null ? null : Number(value);
  }
}

// What a registration form shows for each way it can be refused. The switch is exhaustive:
// a code added to or removed from the contract is a compile error here.
function registrationMessage(refused: RegisterError): string {
  const code = refused.error.code;
  switch (code) {
    case "invalid_request":
      return (refused.error.problems ?? []).map((p: Schemas["Problem"]) => `${p.field}: ${p.problem}`).join("; ");
    case "invalid_code":
      return `Wrong code, ${refused.error.attempts_left ?? 0} tries left`;
    case "phone_registered":
      return "This number is already registered: sign in instead";
    case "invalid_phone":
      return "Not a valid mobile number";
    case "unknown_referrer":
      return "No member has this referral code";
    case "consent_required":
      return `Please accept: ${(refused.error.required ?? []).map((r) => `${r.doc} v${r.version}`).join(", ")}`;
    case "legal_documents_unpublished":
      return "Registration is not open yet";
    case "payload_too_large":
    case "unsupported_media_type":
      return "Please try again";
    default: {
      const unhandled: never = code;
      return unhandled;
    }
  }
}

// The versions the member accepted are the ones GET /v1/legal/{doc} showed them.
export async function registerMember(
  phone: string,
  code: string,
  accepted: { doc: "privacy" | "terms"; version: number }[],
  referrerCode?: string,
): Promise<Registered> {
  const body: RegisterBody = {
    phone,
    code,
    accepted,
    channel: "app",
    ...(referrerCode ? { referrer_code: referrerCode } : {}),
  };
  try {
    const registered = await post<RegisterBody, Registered>("/v1/auth/register", body);
    const tokens: [string, string] = [registered.access_token, registered.refresh_token];
    void tokens;
    return registered;
  } catch (error) {
    if (error instanceof ApiError) throw new Error(registrationMessage(error.body as RegisterError));
    throw error;
  }
}

// An adjustment moves points or aibi, never both: the oneOf in the document; its
// Idempotency-Key is required (the same key on a resubmit applies it once).
export async function givePoints(token: string, memberId: string, points: number, key: string): Promise<Adjusted> {
  const body: AdjustmentBody = { member_id: memberId, points, reason: "goodwill after a late delivery" };
  const headers: AdjustHeaders = { "Idempotency-Key": key };
  const adjusted = await post<AdjustmentBody, Adjusted>("/v1/admin/adjustments", body, token, headers);
  const pointsAfter: number = adjusted.balance_after;
  void pointsAfter;
  return adjusted;
}

// @ts-expect-error an adjustment without its key is refused by the contract
export const unkeyed: AdjustHeaders = {};
export const refund: AdjustmentBody = { member_id: "m-1", amount_fen: 1200, reason: "double charge" };
// @ts-expect-error both amounts at once are refused by the contract
export const both: AdjustmentBody = { member_id: "m-1", points: 10, amount_fen: 100, reason: "x" };
// @ts-expect-error neither amount is refused too
export const neither: AdjustmentBody = { member_id: "m-1", reason: "x" };

export function waitBeforeAnotherCode(refused: OtpRefused, retryAfterHeader: string | null): number {
  // sms_budget_exhausted: no more codes today; Retry-After runs to the next Shanghai midnight
  const code: "rate_limited" | "sms_budget_exhausted" = refused.error.code;
  void code;
  return Number(retryAfterHeader ?? "60");
}
