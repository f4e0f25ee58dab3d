
/** A date written `YYYY-MM-DD`, between the years 1900 and 2200. */
export type IsoDate = string;

/** What a form gives `assess`. Unknown keys are a failure (a misspelt key is caught). */
export interface AssessInput {
  /** The message as the person wrote it (at most 100,000 characters). */
  text: string;
  /** A subject or title field (at most 1,000 characters). */
  subject?: string | null;
  /** When the council received it, RFC 3339 (e.g. `2026-11-25T10:00:00Z`); deadlines run from here. */
  received?: string | null;
  /** How it reached the council. */
  channel?: Channel | null;
  /** A service area `id` from `serviceAreas()`; `""` means not answered. */
  service_area?: string | null;
  /** The date the person became aware; `""` means not answered. */
  aware_since?: IsoDate | null;
  /** Written on someone else's behalf. */
  on_behalf?: boolean | null;
  /** Legal proceedings have started on the matter. */
  legal_action_started?: boolean | null;
}

export type Channel = "email" | "web_form" | "phone" | "letter" | "social_media" | "face_to_face";
export type Kind = "complaint" | "comment" | "compliment" | "fault_report" | "information_request" | "damages_claim" | "staff_grievance";
export type Procedure = "corporate" | "adult_social_care" | "childrens_statutory" | "school" | "admissions_appeal" | "transport_appeal" | "councillor_conduct" | "governor" | "foi_review" | "data_protection" | "fluency_duty";
export type Directorate = "strategic_corporate_services" | "adult_social_care_health" | "children_young_people_education" | "growth_environment_transport";
export type Exclusion = "legal_proceedings_started" | "decided_by_court_or_tribunal" | "decided_by_ombudsman" | "over_twelve_months" | "alternative_route" | "staff_personnel_matter" | "compensation_claim";
export type Caution = "safeguarding" | "on_behalf_of_someone" | "alternative_format_requested" | "fluency_duty_not_legitimate";
export type ClockStart = "receipt" | "stage_start" | "acceptance" | "hearing" | "awareness";
export type Period = { working_days: number } | { calendar_days: number } | { calendar_months: number };

/** Contact details of a team or outside body. Absent details are left out. */
export interface Contact {
  name: string;
  email?: string;
  phone?: string;
  text_relay?: string;
  sms?: string;
  address?: string;
  web?: string;
  note?: string;
}

export interface Route {
  /** The team that handles it. */
  team: Contact;
  /** The corporate director to write to at the escalation stage. */
  director: Contact | null;
  /** What happens next if the person stays dissatisfied. */
  next_stage: string | null;
  /** The outside body at the end of the procedure. */
  outside_body: Contact | null;
  /** Other outside bodies that may apply. */
  also: Contact[];
}

export interface Deadline {
  /** The stage id, e.g. `stage_1`. */
  stage: string;
  /** What is due: `acknowledge`, `contact`, `full_reply`, `progress_update`, ... */
  milestone: string;
  label: string;
  period: Period;
  extended_period: Period | null;
  from: ClockStart;
  starts: IsoDate | null;
  due: IsoDate | null;
  due_extended: IsoDate | null;
  repeats: boolean;
}

export interface Evidence {
  /** What it supports: `kind`, `procedure`, `exclusion:over_twelve_months`, ... */
  decision: string;
  rule: string;
  found: string[];
}

export interface Advice {
  /** `kind:<kind>`, `exclusion:<name>` or `caution:<name>`. */
  about: string;
  text: string;
}

export interface Assessment {
  kind: Kind;
  /** From 0 to 1. */
  confidence: number;
  needs_review: boolean;
  procedure: Procedure | null;
  directorate: Directorate | null;
  service_area: string | null;
  route: Route;
  exclusions: Exclusion[];
  cautions: Caution[];
  advice: Advice[];
  deadlines: Deadline[];
  evidence: Evidence[];
}

export interface ServiceArea {
  id: string;
  name: string;
  directorate: Directorate | null;
  procedure: Procedure;
  /** Whether the policy offers it on forms. */
  on_forms: boolean;
}

export interface StageSummary {
  id: string;
  name: string;
  /** What the person can do next if still dissatisfied. */
  next: string | null;
}

export interface ProcedureSummary {
  name: string;
  stages: StageSummary[];
}

export interface Contacts {
  council: string;
  teams: Record<string, Contact>;
  outside_bodies: Record<string, Contact>;
}

/** One problem with the input: what is wrong, and what to do. */
export interface Problem {
  message: string;
  help: string;
}

/** Every export answers with a result to switch on; none throws for bad input. */
export type Failure = { type: "failure"; errors: Problem[] };
export type AssessResult = { type: "success"; assessment: Assessment } | Failure;
export type DateResult = { type: "success"; date: IsoDate } | Failure;
export type DaysResult = { type: "success"; days: number } | Failure;
export type ContactsResult = { type: "success"; contacts: Contacts } | Failure;
export type ServiceAreasResult = { type: "success"; service_areas: ServiceArea[] } | Failure;
export type ProceduresResult = { type: "success"; procedures: Record<Procedure, ProcedureSummary> } | Failure;
