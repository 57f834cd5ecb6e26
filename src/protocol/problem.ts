/** An error as RFC 9457 problem details: what the API answers for every 4xx and 5xx. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
  /** A dedup key's live run, when a submit was refused for it. */
  existing_run_id?: string;
  /** In a batch's answer, where no header can say it: when the refused submit may be sent again. */
  retry_after_s?: number;
}
