#!/usr/bin/env bash
# The PPO recipe comparison on 1-1 (docs/training.md, "PPO recipe comparison"): today's settings
# (uvipen) against one change at a time, at the same agent-step budget, 2 seeds each, every
# trial's last checkpoint evaluated
# greedy and stochastic on distinct episodes by `mario-rllib results --record`.
#
#   bash scripts/recipe_comparison.sh [STEPS] [EPISODES]     # defaults: 30000 agent steps, 10
#
# Run it from the project directory with the venv active. Experiments go to
# ray_results/recipe/recipe__<variant>__<STEPS>; one that is already there is continued with
# `train --resume` (a finished one ends at once), so an interrupted comparison picks up where it
# stopped. The rows join docs/results.md (records and curves in docs/results/).
set -euo pipefail

steps=${1:-30000}
episodes=${2:-10}
storage=ray_results/recipe

declare -A variants=(
    [uvipen]=""
    # The Atari PPO settings of openai/baselines' ppo2 and CleanRL's ppo_atari.py (the PPO paper's
    # table 5 but 4 epochs, clip 0.1 not annealed), lr annealed to 0 over the budget; the batch
    # stays 2048 and the minibatch 256, as in the other variants.
    [atari]="--set gamma=0.99 --set lambda_=0.95 --set num_epochs=4 --set clip_param=0.1 --set lr=2.5e-4 --set lr_anneal_steps=$steps"
    [right_only]="--action-set right_only"
    [impala]="--set encoder=impala"
)

records=()
for variant in uvipen atari right_only impala; do
    name="recipe__${variant}__${steps}"
    if [ -d "$storage/$name" ]; then
        mario-rllib train --resume "$storage/$name"
    else
        # shellcheck disable=SC2086  # the variant's flags are words
        mario-rllib train --algo ppo --level 1-1 --num-samples 2 --seed 0 \
            --stop-timesteps "$steps" --checkpoint-every 5 --storage-path "$storage" \
            --name "$name" ${variants[$variant]}
    fi
    records+=(--record "$storage/$name")
done
mario-rllib results "${records[@]}" --episodes "$episodes" --out docs/results
