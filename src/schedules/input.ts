/** What clients send about schedules, checked strictly at the edge. */
import { z } from "zod";
import { AgentName } from "../protocol/ids.js";
import { JobSpec } from "../protocol/run.js";
import { Misfire, Overlap, ScheduleId } from "../protocol/schedule.js";
import { jobProblem } from "../agent/runner.js";
import { compileCron, CronError } from "./cron.js";

/** A schedule's job is stored in one SQLite row, which must stay under 2 MB. */
const RUN_SPEC_BYTES = 1536 * 1024;

const ScheduledRun = JobSpec.refine(
  (job) => new TextEncoder().encode(JSON.stringify(job)).length <= RUN_SPEC_BYTES,
  `the run, as JSON, must be at most ${RUN_SPEC_BYTES} bytes`,
).superRefine((job, ctx) => {
  const problem = jobProblem(job);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const Timezone = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_+\-/]+$/, "is not a time zone name (an IANA name such as America/New_York)");

const CronExpr = z.string().trim().min(1, "the cron expression is empty").max(256);

/** Adds an issue at the field that is wrong when the expression does not compile in the zone. */
function checkCron(cron: string | undefined, timezone: string | undefined, ctx: z.RefinementCtx): void {
  try {
    compileCron(cron ?? "* * * * *", timezone ?? "UTC");
  } catch (e) {
    if (!(e instanceof CronError)) throw e;
    const path = cron === undefined || !/^the cron expression/.test(e.message) ? ["timezone"] : ["cron"];
    ctx.addIssue({ code: "custom", path, message: e.message });
  }
}

export const CreateScheduleBody = z
  .strictObject({
    cron: CronExpr,
    timezone: Timezone.default("UTC"),
    run: ScheduledRun,
    enabled: z.boolean().default(true),
    overlap: Overlap.default("skip"),
    misfire: Misfire.default("run_once"),
  })
  .superRefine((b, ctx) => checkCron(b.cron, b.timezone, ctx));
export type NewSchedule = z.infer<typeof CreateScheduleBody>;

export const PatchScheduleBody = z
  .strictObject({
    cron: CronExpr.optional(),
    timezone: Timezone.optional(),
    /** Replaces the whole job. */
    run: ScheduledRun.optional(),
    enabled: z.boolean().optional(),
    overlap: Overlap.optional(),
    misfire: Misfire.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, "send at least one field to change")
  .superRefine((b, ctx) => {
    if (b.cron !== undefined || b.timezone !== undefined) checkCron(b.cron, b.timezone, ctx);
  });
export type SchedulePatch = z.infer<typeof PatchScheduleBody>;

export const ListQuery = z.strictObject({
  agent: AgentName.optional(),
  cursor: ScheduleId.optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

export const PREVIEW_MAX = 1000;

export const PreviewQuery = z.strictObject({
  count: z.coerce.number().int().min(1).max(PREVIEW_MAX).optional(),
  from: z.iso.datetime({ offset: true, message: "must be an ISO 8601 time such as 2026-03-08T00:00:00Z" }).optional(),
});
